"""The README's release commands, rendered as skaffold would run them, twice.

skaffold stamps every resource and pod template it deploys with `skaffold.dev/run-id`, a fresh
id per run unless `--label skaffold.dev/run-id=…` sets it (skaffold PR #2752, #8236). A pod
template that changes is a rollout; for vLLM (strategy Recreate, 4 L4 GPUs) that is 5 to 20
minutes without Gemma. So every `skaffold run` in the README is rendered with two different run
ids, and the vLLM pod template must come out byte-identical; the app's may differ (its release is
a rollout anyway). The README must hold a command that releases the app and one that deploys
Gemma, and each profile it names must exist in a module it deploys (skaffold refuses otherwise).

Also: the app's image is built on Cloud Build as the account Terraform made, with nothing tracked
edited by hand (deploy/cloud-build.sh, deploy/cloudbuild.yaml, BUILD_SERVICE_ACCOUNT).

Usage: check_release.py
"""

import copy
import re
import shlex
import sys

import yaml
from markdown_it import MarkdownIt

import render_manifests as rm

ROOT = rm.ROOT
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}")


def readme_commands():
    """Every `skaffold run` in the README's code blocks and inline code, continuations joined."""
    tokens = MarkdownIt("commonmark").parse((ROOT / "README.md").read_text())
    commands = []
    for token in tokens:
        # Inline code in sentences counts as well ("`skaffold run -p 2xl4 …` serves …").
        children = [c for c in token.children or [] if c.type == "code_inline"]
        for code in ([token] if token.type in ("fence", "code_block") else children):
            text = re.sub(r"\\\n\s*", " ", code.content)
            commands += [line.strip() for line in text.splitlines() if line.strip().startswith("skaffold run")]
    return commands


def parse(command):
    """(modules, profiles, labels) of a `skaffold run` command line."""
    args = shlex.split(command)[2:]
    modules, profiles, labels = [], [], {}
    i = 0
    while i < len(args):
        arg = args[i]
        key, _, inline = arg.partition("=")
        value = inline if inline else (args[i + 1] if i + 1 < len(args) else "")
        step = 1 if inline else 2
        if key in ("-m", "--module"):
            modules += value.split(",")
        elif key in ("-p", "--profile"):
            profiles += value.split(",")
        elif key in ("-l", "--label"):
            k, _, v = value.partition("=")
            labels[k] = v
        else:
            step = 1 if arg.startswith("--") and "=" in arg or not arg.startswith("-") else 2
        i += step
    return modules, profiles, labels


def rendered(modules, profiles, labels, run_id):
    """What the command applies, per module, stamped as skaffold stamps it."""
    out = {}
    for config in rm.configs():
        name = config["metadata"]["name"]
        if modules and name not in modules:
            continue
        variant = rm.with_profiles(config, profiles)
        docs = [d for d in yaml.safe_load_all(rm.render(variant.get("manifests") or {})) if d]
        stamp = {"app.kubernetes.io/managed-by": "skaffold", "skaffold.dev/run-id": run_id} | labels
        out[name] = rm.stamp(copy.deepcopy(docs), stamp)
    return out


def template(docs, deployment):
    for d in docs:
        if d.get("kind") == "Deployment" and d["metadata"]["name"] == deployment:
            return yaml.safe_dump(d["spec"]["template"], sort_keys=True)
    return None


def vllm_template_survives(modules, profiles, labels):
    a = rendered(modules, profiles, labels, "run-a")
    b = rendered(modules, profiles, labels, "run-b")
    return template(a.get("gemma", []), "vllm-gemma-deployment") == template(b.get("gemma", []), "vllm-gemma-deployment")


def main():
    names = [c["metadata"]["name"] for c in rm.configs()]
    commands = readme_commands()
    check("the README gives skaffold commands", commands, commands)
    app_releases = gemma_deploys = 0
    for command in commands:
        modules, profiles, labels = parse(command)
        unknown = [m for m in modules if m not in names]
        check(f"`{command}`: names modules skaffold.yaml has", not unknown, unknown)
        chosen = [c for c in rm.configs() if not modules or c["metadata"]["name"] in modules]
        defined = {p["name"] for c in chosen for p in c.get("profiles", [])}
        missing = [p for p in profiles if p not in defined]
        check(f"`{command}`: every profile exists in a module it deploys", not missing, missing)
        if missing or unknown:
            continue
        deploys = {c["metadata"]["name"] for c in chosen}
        if "gemma" in deploys:
            gemma_deploys += 1
            check(
                f"`{command}`: run twice, it leaves the vLLM pod template byte-identical",
                vllm_template_survives(modules, profiles, labels),
                "a fresh skaffold.dev/run-id on the vLLM pod template recreates the 4-GPU pod",
            )
        if "hybrid-chat" in deploys:
            app_releases += 1
            a = rendered(modules, profiles, labels, "run-a")["hybrid-chat"]
            check(f"`{command}`: releases the app's Deployment", template(a, "hybrid-chat") is not None)
    check("the README has an app release command", app_releases > 0)
    check("the README has a command that deploys Gemma", gemma_deploys > 0)
    # The check can fail: both modules in one run with skaffold's own run ids recreate vLLM.
    check("(self-test) `skaffold run` of both modules would recreate the vLLM pod", not vllm_template_survives([], [], {}))

    # ---- the image build's account ----
    app = next(c for c in rm.configs() if c["metadata"]["name"] == "hybrid-chat")
    artifact = app["build"]["artifacts"][0]
    check(
        "the app's image is built by deploy/cloud-build.sh (not skaffold's googleCloudBuild, which cannot take the account from the environment)",
        "deploy/cloud-build.sh" in (artifact.get("custom") or {}).get("buildCommand", "") and "googleCloudBuild" not in app["build"],
        artifact,
    )
    script = (ROOT / "deploy/cloud-build.sh").read_text()
    check(
        "deploy/cloud-build.sh submits deploy/cloudbuild.yaml as BUILD_SERVICE_ACCOUNT",
        '--service-account="$account"' in script and "--config=deploy/cloudbuild.yaml" in script and "BUILD_SERVICE_ACCOUNT" in script,
    )
    cloudbuild = yaml.safe_load((ROOT / "deploy/cloudbuild.yaml").read_text())
    step_args = cloudbuild["steps"][0]["args"]
    check(
        "deploy/cloudbuild.yaml builds deploy/Dockerfile and pushes the tag skaffold chose",
        "deploy/Dockerfile" in step_args and "$_IMAGE" in step_args and cloudbuild.get("images") == ["$_IMAGE"],
        step_args,
    )
    check(
        "a build as a user-specified account names where its logs go",
        cloudbuild.get("options", {}).get("logging") in ("CLOUD_LOGGING_ONLY", "GCS_ONLY", "NONE"),
    )
    readme = (ROOT / "README.md").read_text()
    check(
        "the runbook sets BUILD_SERVICE_ACCOUNT from Terraform's output",
        re.search(r"BUILD_SERVICE_ACCOUNT=\"?\$\(terraform -chdir=infra output -raw build_service_account\)", readme) is not None,
    )
    check("no runbook step edits skaffold.yaml by hand", "serviceAccount: $(terraform" not in readme)

    passed = sum(results)
    print(f"release checks: {passed} passed, {len(results) - passed} failed")
    sys.exit(1 if passed < len(results) else 0)


if __name__ == "__main__":
    main()
