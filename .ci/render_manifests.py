"""Renders what `skaffold render` would apply, for every module and profile, without skaffold.

skaffold cannot be installed here (it is not in Debian, PyPI or npm), so this reads
skaffold.yaml and applies its rules itself:
- each `---` document is a module (config) with its own `manifests` and `profiles`;
- a profile overlays its module the way skaffold does (`overlayProfileField`): maps merge field by
  field, a non-empty list replaces the list, a set scalar replaces the scalar;
- `manifests.rawYaml` files are read as they are; `manifests.kustomize.paths` are built with
  `kubectl kustomize` and the module's `buildArgs` (kubectl bundles kustomize).

Writes OUT/<module>.yaml and OUT/<module>@<profile>.yaml, and prints their names.
Usage: render_manifests.py OUT
"""

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def overlay(base, profile):
    if profile is None or profile == {} or profile == [] or profile == "":
        return copy.deepcopy(base)
    if isinstance(profile, dict) and isinstance(base, dict):
        out = copy.deepcopy(base)
        for key, value in profile.items():
            out[key] = overlay(base.get(key), value)
        return out
    return copy.deepcopy(profile)


def kubectl():
    venv = Path.home() / ".cache/hybrid-chat/venv/bin/kubectl"
    found = str(venv) if venv.exists() else shutil.which("kubectl")
    if found is None:
        sys.exit("render_manifests: kubectl not found (.ci/install puts one in the venv)")
    return found


def render(manifests):
    docs = []
    for path in manifests.get("rawYaml") or []:
        if not (ROOT / path).is_file():
            sys.exit(f"render_manifests: {path} is named in skaffold.yaml but does not exist")
        docs.append((ROOT / path).read_text())
    kustomize = manifests.get("kustomize") or {}
    for path in kustomize.get("paths") or []:
        args = [kubectl(), "kustomize", *(kustomize.get("buildArgs") or []), str(ROOT / path)]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"render_manifests: {' '.join(args)} failed:\n{result.stderr}")
        docs.append(result.stdout)
    text = "\n---\n".join(d.strip() for d in docs) + "\n"
    parsed = [d for d in yaml.safe_load_all(text) if d]
    if not parsed:
        sys.exit("render_manifests: a module or profile renders to nothing")
    return text


def configs():
    """skaffold.yaml's modules, in order."""
    return [c for c in yaml.safe_load_all((ROOT / "skaffold.yaml").read_text()) if c]


def with_profile(config, profile):
    merged = {k: overlay(config.get(k), profile.get(k)) for k in config if k != "profiles"}
    for key in profile:
        if key not in ("name", "activation") and key not in merged:
            merged[key] = profile[key]
    return merged


def with_profiles(config, names):
    """The module with each named profile it defines applied in order (skaffold activates a
    profile in every module that defines it)."""
    merged = config
    for name in names:
        for profile in config.get("profiles", []):
            if profile["name"] == name:
                merged = with_profile(merged, profile) | {"profiles": config.get("profiles", [])}
    return {k: v for k, v in merged.items() if k != "profiles"}


def stamp(docs, labels):
    """skaffold's labels on what it deploys: every resource's metadata.labels and every pod
    template's (skaffold.dev/run-id is a fresh id per run unless `--label` sets it)."""
    for doc in docs:
        doc.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
        template = (doc.get("spec") or {}).get("template")
        if isinstance(template, dict) and "spec" in template:
            template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    return docs


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for config in configs():
        name = config["metadata"]["name"]
        variants = [(name, config)]
        for profile in config.get("profiles", []):
            variants.append((f"{name}@{profile['name']}", with_profile(config, profile)))
        for label, variant in variants:
            (out / f"{label}.yaml").write_text(render(variant.get("manifests") or {}))
            print(f"{label}.yaml")


if __name__ == "__main__":
    main()
