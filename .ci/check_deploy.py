"""Checks that the deployment matches the server it deploys.

- every environment variable the manifests and the Dockerfile set is one the server reads;
- every variable the server reads is documented in the README;
- the container port and probe paths are the ones the server listens on and routes.

Reads the server's variable list (server/src/config/variables.tsv) and server/src/routes.rs, so a
renamed variable or route fails here.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")


# The server's own list of the variables it reads (also behind `hybrid-chat --help`, and kept
# equal to the README's table by a unit test in server/src/config/variables.rs).
variables = [
    line.split("\t")
    for line in (ROOT / "server/src/config/variables.tsv").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
check("the variable list is well formed (name, default, reader, meaning)",
      all(len(v) == 4 and re.fullmatch(r"[A-Z][A-Z0-9_]+", v[0]) for v in variables),
      str([v for v in variables if len(v) != 4]))
server_reads = {v[0] for v in variables}
check("the list names the variables we expect to find",
      {"VLLM_BASE_URL", "SQLITE_PATH", "VERTEX_LOCATION", "RUST_LOG"} <= server_reads, str(sorted(server_reads)))

docs = (ROOT / "README.md").read_text()
docs_vars = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", docs, re.M))
check("the README's table lists exactly these variables", docs_vars == server_reads,
      str(sorted(docs_vars ^ server_reads)))

docs_for_manifests = list(yaml.safe_load_all((ROOT / "deploy/chat-deploy.yaml").read_text()))
deployment = next(d for d in docs_for_manifests if d["kind"] == "Deployment")
container = deployment["spec"]["template"]["spec"]["containers"][0]
manifest_env = {e["name"]: e.get("value") for e in container.get("env", [])}
manifest_env = {k: v for k, v in manifest_env.items() if v is not None} | {
    e["name"]: "" for e in container.get("env", []) if "valueFrom" in e
}
unknown = sorted(set(manifest_env) - server_reads)
check("chat-deploy.yaml sets only variables the server reads", not unknown, str(unknown))

dockerfile = (ROOT / "deploy/Dockerfile").read_text()
runtime = dockerfile.split("FROM gcr.io/distroless")[1]
docker_env = dict(re.findall(r"([A-Z][A-Z0-9_]+)=(\S+)", runtime.split("USER")[0]))
unknown = sorted(set(docker_env) - server_reads)
check("the runtime image sets only variables the server reads", not unknown, str(unknown))

build_sh = (ROOT / "deploy/build.sh").read_text()
pinned = re.search(r'WASM_TOOLCHAIN:=([^}"]+)', build_sh)
installed = re.findall(r"rustup toolchain install (\S+)", dockerfile)
check("the image installs the wasm toolchain deploy/build.sh builds with",
      pinned is not None and installed == [pinned.group(1)], f"{installed} vs {pinned and pinned.group(1)}")

installs = re.findall(r"cargo install ([^\n&\\]+)", dockerfile)
check(
    "the image installs every cargo tool --locked, at a pinned version (its own lock file, not today's registry)",
    installs and all("--locked" in i and "--version" in i for i in installs),
    installs,
)

port = container["ports"][0]["containerPort"]
addr = manifest_env.get("LEPTOS_SITE_ADDR") or docker_env.get("LEPTOS_SITE_ADDR", "")
check("the container port is the port the server listens on", addr.endswith(f":{port}"), f"{addr} vs {port}")
check("the image exposes that port", re.search(rf"^EXPOSE {port}$", dockerfile, re.M) is not None)

routes = (ROOT / "server/src/routes.rs").read_text()
for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
    path = container[probe]["httpGet"]["path"]
    check(f"{probe} path {path} is a server route", f'.route("{path}"' in routes, path)
check(
    "readiness is /readyz (draining only) and liveness /healthz: neither hangs on the shared store",
    container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    and container["livenessProbe"]["httpGet"]["path"] == "/healthz",
)
metrics_port = next((p for p in container["ports"] if p["name"] == "metrics"), None)
check(
    "METRICS_ADDR is the container's metrics port",
    metrics_port is not None and manifest_env.get("METRICS_ADDR", "").endswith(f":{metrics_port['containerPort']}"),
    str(manifest_env.get("METRICS_ADDR")),
)
monitoring = yaml.safe_load((ROOT / "deploy/monitoring.yaml").read_text())
check("Managed Prometheus scrapes the metrics port by name", monitoring["spec"]["endpoints"][0]["port"] == "metrics")

vllm_url = manifest_env.get("VLLM_BASE_URL", "")
gemma = list(yaml.safe_load_all((ROOT / "deploy/gemma3-12b-deploy.yaml").read_text()))
service = next(d for d in gemma if d["kind"] == "Service")
check("VLLM_BASE_URL points at gemma-service's port", vllm_url == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}", vllm_url)

ksa = next(d for d in docs_for_manifests if d["kind"] == "ServiceAccount")["metadata"]["name"]
iam = (ROOT / "infra/variables.tf").read_text()
check("Terraform grants the service account the pods run as", f'default     = "{ksa}"' in iam and deployment["spec"]["template"]["spec"]["serviceAccountName"] == ksa, ksa)

database_default = re.search(r'variable "database_id".*?default\s*=\s*"([^"]+)"', iam, re.S)
check(
    "on GKE the chats go to the Firestore database Terraform creates",
    manifest_env.get("CHAT_STORE") == "firestore"
    and database_default is not None
    and manifest_env.get("FIRESTORE_DATABASE") == database_default.group(1),
    str(manifest_env),
)

security = container["securityContext"]
check(
    "the app container is hardened",
    security.get("readOnlyRootFilesystem") is True
    and security.get("allowPrivilegeEscalation") is False
    and security.get("capabilities", {}).get("drop") == ["ALL"]
    and deployment["spec"]["template"]["spec"]["securityContext"].get("runAsNonRoot") is True,
)

passed = sum(results)
failed = len(results) - passed
print(f"deploy checks: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
