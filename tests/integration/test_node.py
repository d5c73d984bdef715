"""The real node's promises, one test each: pods run, the runtime enforces what Pod
Security admits, DNS, Services, volumes, kubectl, and no way off the machine.

Every test here needs containers that really run: on kwok nodes they skip and
say why.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from charthouse.cluster.providers.embedded import hostnet, network

from . import pods
from .conftest import SessionCluster
from .kube import Kube, eventually, kubectl

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _real_containers(cluster: SessionCluster) -> None:
    if not cluster.runs_containers:
        pytest.skip("kwok nodes run no containers (--nodes kwok)")


def test_node_is_ready_and_runs_containerd(kube: Kube, cluster: SessionCluster) -> None:
    nodes = {n["metadata"]["name"]: n for n in kube.items("v1", "Node")}
    real = [n for n in nodes.values() if "kwok" not in n["status"]["nodeInfo"]["kubeletVersion"]]
    assert real, f"no real node among {sorted(nodes)}"
    node = real[0]
    info = node["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("containerd://"), info
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True", ready
    if cluster.provider == "embedded":
        assert node["metadata"]["name"] == "charthouse-node-0"


def test_pod_runs_and_kubectl_logs_shows_its_output(kube: Kube, namespace: str) -> None:
    token = secrets.token_hex(8)
    phase, output = pods.run(kube, namespace, f"echo hello {token}")
    assert phase == "Succeeded"
    assert f"hello {token}" in output


def test_runtime_enforces_a_restricted_security_context(kube: Kube, namespace: str) -> None:
    script = (
        "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; id -u; "
        "touch /probe 2>&1 || true; unshare -U true 2>&1 || echo unshare-refused"
    )
    phase, output = pods.run(kube, namespace, script)
    assert phase == "Succeeded", output
    status = dict(line.split(":\t", 1) for line in output.splitlines() if ":\t" in line)
    assert status["CapEff"].strip() == "0000000000000000", output  # no capabilities
    assert status["NoNewPrivs"].strip() == "1", output  # allowPrivilegeEscalation: false
    assert status["Seccomp"].strip() == "2", output  # a seccomp filter is active
    assert "65532" in output.splitlines()
    assert "Read-only file system" in output, output
    assert "unshare-refused" in output, output  # RuntimeDefault blocks new user namespaces


def test_kubelet_refuses_run_as_non_root_for_an_image_that_runs_as_root(
    kube: Kube, namespace: str
) -> None:
    security = {**pods.RESTRICTED_CONTAINER}
    del security["runAsUser"], security["runAsGroup"]  # the busybox image's user is root
    kube.create(pods.pod("as-root", namespace, "true", security=security))

    def waiting_reason() -> tuple[str, str] | None:
        live = kube.get("v1", "Pod", "as-root", namespace)
        for status in (live or {}).get("status", {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                return waiting["reason"], waiting.get("message", "")
        return None

    reason, message = eventually(
        lambda: (found := waiting_reason()) and found[0] != "ContainerCreating" and found,
        timeout=60,
        what="kubelet to refuse the container",
    )
    assert reason == "CreateContainerConfigError", (reason, message)
    assert "runAsNonRoot" in message and "root" in message, message


def test_cluster_dns_resolves_and_refuses_outside_names(kube: Kube, namespace: str) -> None:
    script = (
        "nslookup kubernetes.default.svc.cluster.local; "
        "nslookup example.com >/dev/null 2>&1 && echo outside-resolved || echo outside-refused"
    )
    phase, output = pods.run(kube, namespace, script)
    assert phase == "Succeeded", output
    assert "10.96.0.1" in output, output
    assert "outside-refused" in output, output


@pytest.fixture
def web(kube: Kube, namespace: str) -> Iterator[str]:
    """A busybox httpd pod serving a token, behind a ClusterIP and a LoadBalancer Service."""
    token = secrets.token_hex(8)
    script = f"mkdir -p /www && echo {token} > /www/index.html && exec httpd -f -p 8080 -h /www"
    kube.create(
        pods.pod(
            "web",
            namespace,
            script,
            restart="Always",
            labels={"app": "web"},
            ports=[{"containerPort": 8080, "name": "http"}],
            volumes=[{"name": "www", "emptyDir": {}}],
            mounts=[{"name": "www", "mountPath": "/www"}],
            readiness={"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        )
    )
    for name, kind in (("web", "ClusterIP"), ("web-lb", "LoadBalancer")):
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "type": kind,
                    "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 8080}],
                },
            }
        )
    pods.ready(kube, "web", namespace)
    yield token


def test_a_cluster_ip_service_routes_from_a_pod(kube: Kube, namespace: str, web: str) -> None:
    # kube-proxy may program the rules a moment after the endpoint is ready: retry briefly.
    script = (
        f"for i in 1 2 3 4 5 6 7 8 9 10; do "
        f"wget -q -T 2 -O - http://web.{namespace}.svc.cluster.local/ && exit 0; sleep 0.5; "
        "done; exit 1"
    )
    phase, output = pods.run(kube, namespace, script)
    assert phase == "Succeeded", output
    assert web in output


def test_a_load_balancer_service_answers_on_loopback(kube: Kube, namespace: str, web: str) -> None:
    def address() -> str | None:
        svc = kube.get("v1", "Service", "web-lb", namespace)
        ingress = (svc or {}).get("status", {}).get("loadBalancer", {}).get("ingress") or []
        return ingress[0]["ip"] if ingress else None

    ip = eventually(address, timeout=30, what="a load-balancer address")
    assert ip.startswith("127."), ip

    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(f"http://{ip}:80/", timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            return None

    body = eventually(fetch, timeout=30, what=f"http://{ip}:80/ to answer")
    assert web in body


def test_pvc_data_survives_the_pod(kube: Kube, namespace: str) -> None:
    kube.create(pods.claim("data", namespace, "64Mi"))
    token = secrets.token_hex(8)
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    mounts = [{"name": "data", "mountPath": "/data"}]
    phase, output = pods.run(
        kube, namespace, f"echo {token} > /data/token && echo ok", volumes=volumes, mounts=mounts
    )
    assert (phase, output.strip()) == ("Succeeded", "ok"), output
    phase, output = pods.run(kube, namespace, "cat /data/token", volumes=volumes, mounts=mounts)
    assert phase == "Succeeded" and output.strip() == token, output


def test_kubectl_exec_and_port_forward(kube: Kube, namespace: str, web: str) -> None:
    exec_result = kubectl(
        kube.kubeconfig, "exec", "-n", namespace, "web", "--", "cat", "/www/index.html"
    )
    assert exec_result.returncode == 0, exec_result.stderr
    assert exec_result.stdout.strip() == web

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local_port = probe.getsockname()[1]
    from charthouse.tools import ensure_tool

    forward = subprocess.Popen(
        [
            str(ensure_tool("kubectl")),
            "--kubeconfig",
            str(kube.kubeconfig),
            "port-forward",
            "-n",
            namespace,
            "pod/web",
            f"{local_port}:8080",
            "--address",
            "127.0.0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def fetch() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{local_port}/", timeout=2) as r:
                    return str(r.read().decode())
            except OSError:
                return None

        assert web in eventually(fetch, timeout=30, what="the port-forward to answer")
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_a_pod_has_no_route_off_the_machine(
    kube: Kube, namespace: str, cluster: SessionCluster
) -> None:
    # IPv6: link-local and multicast only (the bridge has IPv6 off), so those are skipped.
    phase, output = pods.run(kube, namespace, "ip route; ip -6 route")
    assert phase == "Succeeded", output
    routes = [
        line.split()[0]
        for line in output.splitlines()
        if line.strip() and not line.startswith(("fe80", "multicast"))
    ]
    assert "default" not in routes, output
    assert set(routes) <= {
        str(network.NODE_POD_CIDR),
        str(network.CLUSTER_CIDR),
        str(network.SERVICE_CIDR),
    }, output
    if cluster.provider != "embedded":
        return
    # The host side: forwarding out of the bridge is dropped, in IPv4 and IPv6.
    for binary in ("iptables", "ip6tables"):
        table = ("-t", hostnet.CONTAINMENT_TABLE)
        rules = subprocess.run(
            [binary, *table, "-S", hostnet.FORWARD_CHAIN],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"-A {hostnet.FORWARD_CHAIN} -i {network.BRIDGE} -j DROP" in rules, rules
        first = subprocess.run(
            [binary, *table, "-S", "FORWARD"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        assert first[1] == f"-A FORWARD -j {hostnet.FORWARD_CHAIN}", first
    masquerade = subprocess.run(
        ["iptables", "-t", "nat", "-S", "POSTROUTING"], capture_output=True, text=True, check=True
    ).stdout
    assert "10.244.0.0/16 -j MASQUERADE" not in masquerade and "CNI-" not in masquerade


def test_no_node_process_listens_on_every_address(cluster: SessionCluster) -> None:
    if cluster.provider != "embedded":
        pytest.skip("checks this machine's own processes")
    listening = subprocess.run(
        ["ss", "-Htlnup"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    ours = ("kube-", "kubelet", "containerd", "etcd", "registry", "coredns")
    wildcard = [
        line
        for line in listening
        if any(name in line for name in ours)
        and any(local in line.split()[4] for local in ("0.0.0.0:", "*:", "[::]:"))
    ]
    assert not wildcard, "\n".join(wildcard)
