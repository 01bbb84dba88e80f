"""infra/ read as Terraform builds its graph, without the google provider (which cannot be
downloaded here, so `terraform validate` and `terraform graph` cannot run): one `apply` on an
empty project must not race its own API enablement.

- A resource depends on another through `depends_on` or any reference to it (`type.name`,
  `data.type.name`, or a `local` that holds one).
- Every resource and data source that calls a Google API depends, directly or transitively, on
  `google_project_service.enabled` (through `time_sleep.apis_ready`), and that API is in the
  enabled list.
- Every grant to a Workload Identity principal (`….svc.id.goog`) depends on the cluster: the
  identity pool exists only once the first cluster is made.
- The Gateway's names (deploy/iap-gateway.yaml) are the address and certificate map Terraform
  makes; the image repository is cleaned up and scanned.

Usage: check_terraform.py
"""

import json
import re
import sys
from pathlib import Path

import hcl2
import yaml

ROOT = Path(__file__).resolve().parent.parent
results = []

# The API each resource type calls (prefix of the type), as Google's provider documents it.
API = {
    "google_project_iam_custom_role": "iam.googleapis.com",
    "google_service_account": "iam.googleapis.com",
    "google_project_iam_member": "cloudresourcemanager.googleapis.com",
    "google_project": "cloudresourcemanager.googleapis.com",
    "google_container_cluster": "container.googleapis.com",
    "google_firestore_": "firestore.googleapis.com",
    "google_artifact_registry_": "artifactregistry.googleapis.com",
    "google_storage_bucket": "storage.googleapis.com",
    "google_iap_": "iap.googleapis.com",
    "google_certificate_manager_": "certificatemanager.googleapis.com",
    "google_compute_": "compute.googleapis.com",
}
REF = re.compile(r"\b(data\.[a-z0-9_]+\.[a-z0-9_]+|local\.[a-z0-9_]+|(?:google|time)_[a-z0-9_]+\.[a-z0-9_]+)")


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}")


def one(value):
    """python-hcl2 wraps attribute values in a list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def load(infra):
    """Every resource and data source (address → body), and every local (name → value)."""
    blocks, locals_ = {}, {}
    for path in sorted(infra.glob("*.tf")):
        parsed = hcl2.load(path.open())
        for kind, prefix in (("resource", ""), ("data", "data.")):
            for entry in parsed.get(kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        blocks[f"{prefix}{rtype}.{name}"] = body
        for entry in parsed.get("locals", []):
            locals_.update({k: v for k, v in entry.items() if not k.startswith("__")})
    return blocks, locals_


def refs(value, locals_, seen=()):
    """The blocks `value` refers to, through locals too."""
    found = set()
    for ref in REF.findall(json.dumps(value)):
        if ref.startswith("local."):
            name = ref.split(".", 1)[1]
            if name in locals_ and name not in seen:
                found |= refs(locals_[name], locals_, seen + (name,))
        else:
            found.add(ref)
    return found


def text_through_locals(value, locals_, seen=()):
    out = json.dumps(value)
    for name in re.findall(r"\blocal\.([a-z0-9_]+)", out):
        if name in locals_ and name not in seen:
            out += text_through_locals(locals_[name], locals_, seen + (name,))
    return out


def main(infra=ROOT / "infra"):
    blocks, locals_ = load(infra)
    edges = {addr: {r for r in refs(body, locals_) if r in blocks and r != addr} for addr, body in blocks.items()}

    def ancestors(addr):
        out, todo = set(), [addr]
        while todo:
            for dep in edges.get(todo.pop(), ()):
                if dep not in out:
                    out.add(dep)
                    todo.append(dep)
        return out

    enabled = set(re.findall(r"[a-z]+\.googleapis\.com", json.dumps(locals_.get("services", []))))
    check("the APIs are enabled by google_project_service.enabled", "google_project_service.enabled" in blocks)
    for addr in sorted(blocks):
        rtype = addr.removeprefix("data.").split(".")[0]
        if rtype in ("google_project_service", "time_sleep"):
            continue
        api = next((v for k, v in API.items() if rtype.startswith(k)), None)
        if api is None:
            check(f"{addr}: its API is known to this check", False, rtype)
            continue
        check(f"{addr}: {api} is enabled", api in enabled, sorted(enabled))
        check(f"{addr}: made after the APIs are on", "google_project_service.enabled" in ancestors(addr), sorted(ancestors(addr)))
        if "svc.id.goog" in text_through_locals(blocks[addr], locals_):
            check(
                f"{addr}: a Workload Identity grant, made after the cluster (its identity pool)",
                any(a.startswith("google_container_cluster.") for a in ancestors(addr)),
                sorted(ancestors(addr)),
            )

    # The Gateway names what Terraform makes.
    variables = {}
    for path in sorted(infra.glob("*.tf")):
        for entry in hcl2.load(path.open()).get("variable", []):
            for name, body in entry.items():
                variables[name] = one(body.get("default"))
    gateway = next(
        d for d in yaml.safe_load_all((ROOT / "deploy/iap-gateway.yaml").read_text()) if d and d["kind"] == "Gateway"
    )
    addresses = gateway["spec"].get("addresses") or []
    address = blocks.get("google_compute_global_address.gateway", {})
    check(
        "the Gateway names the global static address Terraform reserves",
        addresses == [{"type": "NamedAddress", "value": variables.get("gateway_address_name")}]
        and "var.gateway_address_name" in json.dumps(address.get("name")),
        addresses,
    )
    certmap = gateway["metadata"]["annotations"].get("networking.gke.io/certmap")
    cert_map = blocks.get("google_certificate_manager_certificate_map.certs", {})
    check(
        "the Gateway serves the certificate map Terraform makes",
        certmap == variables.get("certificate_map_name") and "var.certificate_map_name" in json.dumps(cert_map.get("name")),
        certmap,
    )

    repo = blocks.get("google_artifact_registry_repository.images", {})
    policies = repo.get("cleanup_policies") or []
    check(
        "Artifact Registry deletes old images and keeps the newest",
        {one(p.get("action")) for p in policies} >= {"DELETE", "KEEP"} and repo.get("cleanup_policy_dry_run") in ([False], False),
        policies,
    )
    scanning = json.dumps(repo.get("vulnerability_scanning_config"))
    check(
        "Artifact Registry scans pushed images (Container Scanning API on, the repository not opted out)",
        "containerscanning.googleapis.com" in enabled and "INHERITED" in scanning,
        scanning,
    )

    passed = sum(results)
    print(f"terraform checks: {passed} passed, {len(results) - passed} failed")
    sys.exit(1 if passed < len(results) else 0)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "infra")
