"""Evaluates the rendered manifests, not only their syntax: what the pods may reach, and whether
the timeouts of the load balancer, the app and Kubernetes agree. No cluster is needed.

NetworkPolicy semantics (networking.k8s.io/v1), as Dataplane V2 enforces them:
- a pod is isolated for a direction once any policy of its namespace selects it for that
  direction; then a connection is allowed only if some rule of some selecting policy matches
  both the peer and the port;
- a rule without `to`/`from` matches every peer, one without `ports` every port;
- a peer is an ipBlock (cidr minus except), or pods chosen by podSelector within the policy's
  namespace or by namespaceSelector (+ podSelector);
- a connection between two pods needs the source's egress and the destination's ingress.
Addresses that are not pods (the metadata server, NodeLocal DNSCache, Google APIs) match only
ipBlocks: that is why a kube-dns pod selector does not let an Autopilot pod resolve names.

Usage: check_policies.py RENDERED_DIR   (written by render_manifests.py)
"""

import ipaddress
import json
import re
import sys
from pathlib import Path

import yaml

MARGIN = 5  # seconds a reply may need beyond the model timeout: the store write, the hop
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}")


# ---- NetworkPolicy ------------------------------------------------------------------------------


def selects(selector, labels):
    if labels is None:
        return False
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Endpoint:
    """A pod (labels, namespace, named ports) or a bare address (labels None)."""

    def __init__(self, ip, labels=None, namespace=None, ports=None):
        self.ip = ipaddress.ip_address(ip)
        self.labels = labels
        self.namespace = namespace
        self.ns_labels = {"kubernetes.io/metadata.name": namespace} if namespace else None
        self.ports = ports or {}

    def __repr__(self):
        return f"{self.labels or ''}@{self.ip}"


def peer_matches(peer, ep, policy_ns):
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        if ep.ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(ep.ip in ipaddress.ip_network(c) for c in block.get("except") or [])
    if ep.labels is None:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], ep.ns_labels):
            return False
    elif ep.namespace != policy_ns:
        return False
    return selects(peer.get("podSelector"), ep.labels)


def port_matches(rule_ports, port, protocol, named):
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str):
            want = named.get(want)
        if want is None:
            continue
        if want == port or (p.get("endPort") and want <= port <= p["endPort"]):
            return True
    return False


def policy_types(policy):
    spec = policy["spec"]
    if "policyTypes" in spec:
        return spec["policyTypes"]
    return ["Ingress"] + (["Egress"] if "egress" in spec else [])


def allowed(policies, pod, direction, other, port, protocol, named_ports):
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", "default") == pod.namespace
        and direction in policy_types(p)
        and selects(p["spec"].get("podSelector"), pod.labels)
    ]
    if not selecting:
        return True
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for p in selecting:
        ns = p["metadata"].get("namespace", "default")
        for rule in p["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(peer_matches(peer, other, ns) for peer in peers)) and port_matches(
                rule.get("ports"), port, protocol, named_ports
            ):
                return True
    return False


def connects(policies, src, dst, port, protocol="TCP"):
    if not allowed(policies, src, "Egress", dst, port, protocol, dst.ports):
        return False
    if dst.labels is not None and not allowed(policies, dst, "Ingress", src, port, protocol, dst.ports):
        return False
    return True


def check_network(label, docs):
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if not policies:
        return
    app = {"app.kubernetes.io/name": "hybrid-chat"}
    chat = Endpoint("10.8.0.10", app, "default", {"http": 8080, "metrics": 9090})
    gemma = Endpoint("10.8.1.20", {"app.kubernetes.io/name": "gemma-server"}, "default", {"http": 8000})
    kube_dns = Endpoint("10.8.2.2", {"k8s-app": "kube-dns"}, "kube-system")
    # Managed Prometheus's collectors: gke-gmp-system on Autopilot, gmp-system on Standard.
    collector = Endpoint("10.8.3.3", {"app": "collector"}, "gke-gmp-system")
    standard_collector = Endpoint("10.8.3.4", {"app": "collector"}, "gmp-system")
    other_namespace = Endpoint("10.8.3.5", {"app": "collector"}, "monitoring")
    stranger = Endpoint("10.8.4.4", {"app.kubernetes.io/name": "something-else"}, "default")
    visitor = Endpoint("203.0.113.9")
    must = [
        ("DNS via Cloud DNS at the metadata address, UDP", chat, Endpoint("169.254.169.254"), 53, "UDP"),
        ("DNS via Cloud DNS at the metadata address, TCP", chat, Endpoint("169.254.169.254"), 53, "TCP"),
        ("DNS via NodeLocal DNSCache, UDP", chat, Endpoint("169.254.20.10"), 53, "UDP"),
        ("DNS via NodeLocal DNSCache, TCP", chat, Endpoint("169.254.20.10"), 53, "TCP"),
        ("DNS via kube-dns (Standard clusters)", chat, kube_dns, 53, "UDP"),
        ("the metadata server (tokens)", chat, Endpoint("169.254.169.254"), 80, "TCP"),
        ("the GKE metadata server port", chat, Endpoint("169.254.169.254"), 988, "TCP"),
        ("Vertex AI over HTTPS", chat, Endpoint("142.250.80.10"), 443, "TCP"),
        ("Google APIs through Private Google Access", chat, Endpoint("199.36.153.8"), 443, "TCP"),
        ("vLLM on its Service port", chat, gemma, 8000, "TCP"),
        ("visitors reach the app port", visitor, chat, 8080, "TCP"),
        ("Managed Prometheus scrapes the metrics port (Autopilot: gke-gmp-system)", collector, chat, 9090, "TCP"),
        ("Managed Prometheus scrapes the metrics port (Standard: gmp-system)", standard_collector, chat, 9090, "TCP"),
    ]
    must_not = [
        ("DNS to an outside resolver", chat, Endpoint("8.8.8.8"), 53, "UDP"),
        ("plain HTTP to the internet", chat, Endpoint("142.250.80.10"), 80, "TCP"),
        ("HTTPS inside the VPC", chat, Endpoint("10.128.0.5"), 443, "TCP"),
        ("HTTPS to another pod", chat, stranger, 443, "TCP"),
        ("a database port in the VPC", chat, Endpoint("10.128.0.7"), 5432, "TCP"),
        ("the metadata server on another port", chat, Endpoint("169.254.169.254"), 22, "TCP"),
        ("vLLM on another port", chat, gemma, 22, "TCP"),
        ("vLLM from any other pod", stranger, gemma, 8000, "TCP"),
        ("the metrics port from visitors", visitor, chat, 9090, "TCP"),
        ("the metrics port from a pod of another namespace", other_namespace, chat, 9090, "TCP"),
        ("the metrics port from another pod", stranger, chat, 9090, "TCP"),
    ]
    for name, src, dst, port, proto in must:
        check(f"{label}: may reach {name}", connects(policies, src, dst, port, proto), f"{src} -> {dst}:{port}/{proto} refused")
    for name, src, dst, port, proto in must_not:
        check(f"{label}: may not reach {name}", not connects(policies, src, dst, port, proto), f"{src} -> {dst}:{port}/{proto} allowed")


# ---- Timeouts -----------------------------------------------------------------------------------


def seconds(env, name, default=None):
    value = env.get(name)
    return float(value) if value is not None else default


def find(docs, kind, name):
    """The rendered object of `kind` called `name`, or None."""
    return next((d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name), None)


def app_container(docs):
    """The app's pod spec, its container, and the container's literal env values; or None."""
    deployment = find(docs, "Deployment", "hybrid-chat")
    if deployment is None:
        return None
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    return pod, container, {e["name"]: e.get("value") for e in container.get("env", [])}


def check_timeouts(label, docs):
    app = app_container(docs)
    if app is None:
        return
    pod, container, env = app
    model = seconds(env, "MODEL_TIMEOUT_SECS", 120.0)
    grace = seconds(env, "SHUTDOWN_GRACE_SECS", model + MARGIN)
    drain = seconds(env, "SHUTDOWN_DRAIN_SECS", 0.0)
    pre_stop = (((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
    termination = pod.get("terminationGracePeriodSeconds", 30)
    check(f"{label}: SHUTDOWN_GRACE_SECS ({grace:g}) covers MODEL_TIMEOUT_SECS ({model:g})", grace >= model, "a rollout would cut replies")
    check(
        f"{label}: terminationGracePeriodSeconds ({termination}) > preStop ({pre_stop}) + drain ({drain:g}) + grace ({grace:g})",
        termination > pre_stop + drain + grace,
        "Kubernetes would SIGKILL turns the app is still finishing",
    )
    check(f"{label}: a preStop delay lets endpoints drop the pod before SIGTERM", pre_stop >= 5, pre_stop)

    services = {
        d["metadata"]["name"]: d for d in docs if d.get("kind") == "Service"
    }
    routed = {
        ref["name"]
        for d in docs
        if d.get("kind") == "HTTPRoute"
        for rule in d["spec"].get("rules", [])
        for ref in rule.get("backendRefs", [])
    }
    policies = {
        d["spec"]["targetRef"]["name"]: d for d in docs if d.get("kind") == "GCPBackendPolicy"
    }
    for service in sorted(routed):
        policy = (policies.get(service) or {}).get("spec", {}).get("default", {})
        timeout = policy.get("timeoutSec", 30)
        draining = (policy.get("connectionDraining") or {}).get("drainingTimeoutSec", 0)
        check(f"{label}: Gateway backend timeout for {service} ({timeout} s) > model timeout + {MARGIN} s", timeout > model + MARGIN, "long replies would end in a 502/504")
        check(f"{label}: connection draining for {service} ({draining} s) lets a reply finish", draining >= model + MARGIN, draining)
    for name, svc in services.items():
        ports = svc["spec"].get("ports", [])
        exposed = {p.get("targetPort") for p in ports} | {p.get("port") for p in ports}
        check(f"{label}: Service {name} does not expose the metrics port", not exposed & {"metrics", 9090}, exposed)
        if svc["spec"].get("type") == "LoadBalancer":
            # A passthrough network load balancer has no request timeout to agree with.
            check(f"{label}: LoadBalancer {name} keeps client addresses", svc["spec"].get("externalTrafficPolicy") == "Local")
    # The IAP profile must make the app refuse to run without its audience.
    iap_on = any(d.get("kind") == "GCPBackendPolicy" and d["spec"]["default"].get("iap", {}).get("enabled") for d in docs)
    mode = find(docs, "ConfigMap", "hybrid-chat-iap-mode")
    refs = {
        e["name"]: e.get("valueFrom", {}).get("configMapKeyRef", {})
        for e in container.get("env", [])
    }
    if iap_on:
        check(
            f"{label}: IAP is on at the load balancer and required by the app",
            mode is not None
            and mode["data"].get("required") == "true"
            and refs.get("IAP_REQUIRED", {}).get("name") == "hybrid-chat-iap-mode"
            and refs.get("IAP_AUDIENCE", {}).get("name") == "hybrid-chat-iap",
        )
        check(f"{label}: no placeholder OAuth client", "OAUTH_CLIENT_ID" not in yaml.safe_dump(docs))
    else:
        check(f"{label}: without IAP at the load balancer the app does not require it", mode is None)


def check_scaling(label, docs):
    """A Deployment an HPA scales leaves its count to the HPA: a `replicas` in the manifest would
    reset the autoscaled count on every apply."""
    for hpa in (d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]["name"]
        deployment = find(docs, "Deployment", target)
        check(
            f"{label}: Deployment {target} leaves its replica count to its HPA",
            deployment is not None and "replicas" not in deployment["spec"],
            deployment and deployment["spec"].get("replicas"),
        )


def check_gemma(label, docs):
    deployment = find(docs, "Deployment", "vllm-gemma-deployment")
    if deployment is None:
        return
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    gpus = int(container["resources"]["limits"]["nvidia.com/gpu"])
    tp = next(int(a.split("=")[1]) for a in container["args"] if a.startswith("--tensor-parallel-size="))
    check(f"{label}: tensor parallelism ({tp}) uses every GPU requested ({gpus})", tp == gpus)
    check(f"{label}: the GPU Deployment is replaced, not rolled (no second set of GPUs)", spec.get("strategy", {}).get("type") == "Recreate")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check(f"{label}: {probe} has an explicit timeout above the 1 s default", container[probe].get("timeoutSeconds", 1) > 1)
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
    check(f"{label}: weights are cached on a volume", env.get("HF_HOME", "").startswith(tuple(mounts)) and any(v.get("persistentVolumeClaim") for v in pod.get("volumes", [])))
    check(f"{label}: GPU driver chosen as in GKE's samples", "cloud.google.com/gke-gpu-driver-version" in pod.get("nodeSelector", {}))


ROOT = Path(__file__).resolve().parent.parent


def server_default(name):
    """The server's default for a variable (server/src/config/variables.tsv), as a number."""
    for line in (ROOT / "server/src/config/variables.tsv").read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == name:
            number = re.search(r"`(\d+)`", fields[1])
            return int(number.group(1)) if number else fields[1].strip("`")
    sys.exit(f"check_policies: {name} is not in variables.tsv")


def largest_max_tokens():
    """The Max tokens slider's top (app/src/params.rs), the most a turn asks to generate."""
    spec = re.search(r"pub const MAX_TOKENS: SliderSpec = SliderSpec \{.*?max: ([\d.]+)", (ROOT / "app/src/params.rs").read_text(), re.S)
    return int(float(spec.group(1)))


def prompt_files():
    """The most files the app puts in one prompt (app/src/prompt.rs)."""
    return int(re.search(r"pub const MAX_PROMPT_FILES: usize = (\d+);", (ROOT / "app/src/prompt.rs").read_text()).group(1))


def app_setting(app_docs, serving_docs, name):
    """What the app runs with for `name`: its env value, a ConfigMap key (when that ConfigMap is
    among `serving_docs`), or the server's default."""
    container = find(app_docs, "Deployment", "hybrid-chat")["spec"]["template"]["spec"]["containers"][0]
    for e in container.get("env", []):
        if e["name"] != name:
            continue
        if "value" in e:
            return int(e["value"])
        ref = (e.get("valueFrom") or {}).get("configMapKeyRef") or {}
        cm = find(serving_docs, "ConfigMap", ref.get("name"))
        if cm is not None and ref.get("key") in (cm.get("data") or {}):
            return int(cm["data"][ref["key"]])
    fallback = server_default(name)
    return server_default(fallback) if isinstance(fallback, str) else fallback


def check_profiles_agree(rendered):
    """Every app variant against every Gemma variant: the history the app sends plus the largest
    Max tokens fits vLLM's context, and every replica's Gemma share together stays within what
    vLLM runs plus one batch waiting."""
    load = lambda p: [d for d in yaml.safe_load_all(p.read_text()) if d]
    gemmas = [(p.stem, load(p)) for p in rendered if p.stem.startswith("gemma")]
    apps = [(p.stem, load(p)) for p in rendered if p.stem.startswith("hybrid-chat")]
    check("there are Gemma and app variants to compare", gemmas and apps)
    max_tokens = largest_max_tokens()
    for g_label, g_docs in gemmas:
        vllm = find(g_docs, "Deployment", "vllm-gemma-deployment")["spec"]["template"]["spec"]["containers"][0]
        arg = lambda name: next(int(a.split("=")[1]) for a in vllm["args"] if a.startswith(f"--{name}="))
        context, seqs = arg("max-model-len"), arg("max-num-seqs")
        images = next((json.loads(a.split("=", 1)[1]).get("image") for a in vllm["args"] if a.startswith("--limit-mm-per-prompt=")), None)
        check(
            f"{g_label}: --limit-mm-per-prompt takes the pictures a prompt carries (MAX_PROMPT_FILES {prompt_files()})",
            images == prompt_files(),
            str(images),
        )
        for a_label, a_docs in apps:
            history = app_setting(a_docs, g_docs, "HISTORY_TOKENS")
            check(
                f"{a_label} on {g_label}: HISTORY_TOKENS ({history}) + the largest Max tokens ({max_tokens}) fit --max-model-len ({context})",
                history + max_tokens <= context,
                "a long chat would lose its oldest turns to the context fitting on every turn",
            )
            share = app_setting(a_docs, g_docs, "VLLM_MAX_IN_FLIGHT")
            hpa = next(d for d in a_docs if d.get("kind") == "HorizontalPodAutoscaler")
            most = hpa["spec"]["maxReplicas"]
            check(
                f"{a_label} on {g_label}: VLLM_MAX_IN_FLIGHT ({share}) x maxReplicas ({most}) <= 2 x --max-num-seqs ({seqs})",
                share * most <= 2 * seqs,
                f"{share * most} requests could be sent to a vLLM that runs {seqs} at once",
            )


def check_autoscaling(label, docs):
    """The HPA scales on what loads the app: a per-pod metric the server exports (a gauge, from
    Managed Prometheus through the adapter), and replicas spread over zones."""
    hpa = next((d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"), None)
    if hpa is None:
        return
    metrics = hpa["spec"].get("metrics", [])
    pods = [m["pods"]["metric"]["name"] for m in metrics if m.get("type") == "Pods"]
    check(f"{label}: the HPA scales on a per-pod load metric, not CPU alone", pods, [m.get("type") for m in metrics])
    source = (ROOT / "server/src/metrics/mod.rs").read_text()
    for name in pods:
        parts = name.split("|")
        series = parts[1] if len(parts) == 3 and parts[0] == "prometheus.googleapis.com" else ""
        # registry.register("NAME", "help", VARIABLE.clone()) with `let VARIABLE = Gauge::default()`.
        registered = re.search(
            rf'registry\.register\(\s*"{re.escape(series.removeprefix("hybrid_chat_"))}",\s*"[^"]*",\s*(\w+)\.clone\(\)', source
        ) if series.startswith("hybrid_chat_") else None
        gauge = registered and re.search(rf"let {registered.group(1)} = Gauge::default\(\)", source)
        check(
            f"{label}: {name} is a per-pod gauge the server exports",
            parts[-1] == "gauge" and gauge,
            "not registered as an unlabelled Gauge in server/src/metrics/mod.rs",
        )
    deployment = find(docs, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
    spread = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
    check(
        f"{label}: replicas are spread across zones",
        any(c.get("topologyKey") == "topology.kubernetes.io/zone" for c in spread),
        spread,
    )


def check_storage(label, docs):
    """With chats in Firestore, files go to the bucket: the app refuses to start without one
    (or a folder, which on a pod would vanish with it), so every profile names the bucket, from
    the ConfigMap the runbook creates, never optional."""
    deployment = find(docs, "Deployment", "hybrid-chat")
    if deployment is None:
        return
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    if (env.get("CHAT_STORE") or {}).get("value") != "firestore":
        return
    bucket = env.get("ATTACHMENTS_BUCKET") or {}
    ref = (bucket.get("valueFrom") or {}).get("configMapKeyRef") or {}
    check(
        f"{label}: Firestore's files go to the bucket named in ConfigMap hybrid-chat-storage",
        bucket.get("value") or (ref.get("name") == "hybrid-chat-storage" and ref.get("key") == "bucket" and not ref.get("optional")),
        bucket,
    )
    check(f"{label}: no ATTACHMENTS_DIR on a pod (its files would go with it)", "ATTACHMENTS_DIR" not in env)
    runbook = (Path(__file__).parent.parent / "README.md").read_text()
    check(
        f"{label}: the runbook creates ConfigMap hybrid-chat-storage with key bucket",
        "kubectl create configmap hybrid-chat-storage" in runbook and "--from-literal=bucket=" in runbook,
    )


def check_spool(label, docs):
    """The app keeps arriving files on disk (UPLOAD_SPOOL_DIR, default /tmp) and will not start
    if it cannot write there; the root filesystem is read-only, so a sized emptyDir must be
    mounted there, larger than UPLOAD_SPOOL_MB and within the container's ephemeral storage."""
    app = app_container(docs)
    if app is None:
        return
    pod, container, env = app
    where = env.get("UPLOAD_SPOOL_DIR") or "/tmp"
    spool_mb = float(env.get("UPLOAD_SPOOL_MB") or server_default("UPLOAD_SPOOL_MB"))
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == where), None)
    volume = next((v for v in pod.get("volumes", []) if mount and v["name"] == mount["name"]), {})
    empty = volume.get("emptyDir")
    check(f"{label}: a writable emptyDir is mounted at {where} (UPLOAD_SPOOL_DIR)", empty is not None and not (mount or {}).get("readOnly"), mount)
    size = mebibytes((empty or {}).get("sizeLimit", "0"))
    limit = mebibytes(container.get("resources", {}).get("limits", {}).get("ephemeral-storage", "0"))
    check(f"{label}: the spool volume ({size:g} MiB) holds UPLOAD_SPOOL_MB ({spool_mb:g} MB)", size * 1.048576 >= spool_mb, empty)
    check(f"{label}: the spool volume fits the container's ephemeral storage ({limit:g} MiB)", 0 < size < limit)


def mebibytes(quantity):
    """A Kubernetes quantity (512Mi, 1Gi, 500M) in MiB."""
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|K|M|G)?", str(quantity))
    if not m:
        return 0.0
    scale = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20, None: 1 / 2**20}
    return float(m.group(1)) * scale[m.group(2)]


def check_images(label, docs):
    """Every image is pinned by digest, except the app's own, which skaffold replaces with the
    tag and digest it built."""
    for d in docs:
        pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            image = c["image"]
            check(
                f"{label}: {c['name']} image is pinned by digest",
                image == "hybrid-chat" or re.search(r"@sha256:[0-9a-f]{64}$", image),
                image,
            )


def main():
    rendered = sorted(Path(sys.argv[1]).glob("*.yaml"))
    if not rendered:
        sys.exit("check_policies: nothing rendered")
    for path in rendered:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        label = path.stem
        check_network(label, docs)
        check_timeouts(label, docs)
        check_scaling(label, docs)
        check_gemma(label, docs)
        check_autoscaling(label, docs)
        check_images(label, docs)
        check_storage(label, docs)
        check_spool(label, docs)
    check_profiles_agree(rendered)
    passed = sum(results)
    failed = len(results) - passed
    print(f"policy checks: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
