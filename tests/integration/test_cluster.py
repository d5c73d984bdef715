"""The test cluster itself: what charts rely on (version, nodes, storage, Pod Security),
and the embedded provider's promises (down leaves nothing behind, crashes are named)."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from charthouse.cluster import embedded, processes
from charthouse.cluster.embedded import EmbeddedCluster
from charthouse.cluster.provider import Status
from charthouse.errors import CharthouseError

from .conftest import SessionCluster
from .kube import Kube, eventually

pytestmark = pytest.mark.integration


def test_version_is_the_pinned_kubernetes(kube: Kube, cluster: SessionCluster) -> None:
    # helm compares every chart's kubeVersion constraint with this string.
    from kubernetes.client import VersionApi

    version = VersionApi(kube.api_client).get_code()
    if cluster.provider == "embedded":
        assert version.git_version == embedded.KUBERNETES_VERSION
    assert version.major == "1" and int(version.minor.rstrip("+")) >= 31


def test_nodes_are_ready(kube: Kube) -> None:
    nodes = kube.items("v1", "Node")
    assert nodes, "the cluster has no nodes"
    for node in nodes:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", node["metadata"]["name"]


def test_default_storage_class_binds_a_claim(kube: Kube, namespace: str) -> None:
    claim = kube.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    assert claim["spec"].get("storageClassName"), "no default StorageClass was applied"

    def bound() -> str | None:
        live = kube.get("v1", "PersistentVolumeClaim", "data", namespace)
        return (
            live["spec"].get("volumeName")
            if live and live["status"].get("phase") == "Bound"
            else None
        )

    volume_name = eventually(bound, timeout=30, what="the claim to bind")
    volume = kube.get("v1", "PersistentVolume", volume_name)
    assert volume is not None
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert volume["spec"]["capacity"]["storage"] == "1Gi"


def _pod(name: str, namespace: str, security: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "registry.k8s.io/pause:3.10",
                    "securityContext": security,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_pod_security_restricted_is_enforced(kube: Kube, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    kube.create(_pod("compliant", namespace, RESTRICTED_CONTAINER))
    with pytest.raises(ApiException) as rejected:
        kube.create(
            _pod(
                "as-root",
                namespace,
                {**RESTRICTED_CONTAINER, "runAsUser": 0, "runAsNonRoot": False},
            )
        )
    assert rejected.value.status == 403
    message = json.loads(str(rejected.value.body))["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "runAsUser=0" in message


def test_bare_pods_complete_like_helm_test_hooks(kube: Kube, namespace: str) -> None:
    pod = _pod("hook", namespace, RESTRICTED_CONTAINER)
    pod["metadata"]["annotations"] = {"helm.sh/hook": "test"}  # type: ignore[index]
    pod["spec"]["restartPolicy"] = "Never"  # type: ignore[index]
    kube.create(pod)

    def phase() -> str | None:
        live = kube.get("v1", "Pod", "hook", namespace)
        return live["status"].get("phase") if live else None

    eventually(lambda: phase() == "Succeeded", timeout=30, what="the hook pod to succeed")


# -- the embedded provider's own promises, on a second, private cluster ------------------


@pytest.fixture
def private_cluster(tmp_path: Path, cluster: SessionCluster) -> Iterator[EmbeddedCluster]:
    if cluster.provider != "embedded":
        pytest.skip(f"embedded-provider behaviour; this session uses {cluster.provider}")
    private = EmbeddedCluster(tmp_path / "cluster")
    yield private
    private.down()


def _listening_ports(pids: set[int]) -> set[int]:
    """TCP ports in LISTEN state owned by ``pids`` (via /proc, no extra tools)."""
    inodes: set[str] = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        if not fd_dir.exists():
            continue
        for fd in fd_dir.iterdir():
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_down_leaves_no_process_and_no_port(private_cluster: EmbeddedCluster) -> None:
    private_cluster.up()
    pids = {c.pid() for c in map(private_cluster.component, embedded.COMPONENTS)}
    assert None not in pids, "a component is not running after up"
    live_pids = {pid for pid in pids if pid is not None}
    ports = _listening_ports(live_pids)
    assert ports, "components listen on no port"

    private_cluster.down()

    assert not [
        pid
        for pid in live_pids
        if Path(f"/proc/{pid}").exists() and processes._start_time(pid) is not None
    ]
    assert not [port for port in ports if processes.port_open(port)]
    assert not list((private_cluster.dir / "run").glob("*.pid"))


def test_warm_up_reuses_state_and_is_fast(private_cluster: EmbeddedCluster) -> None:
    private_cluster.up()
    private_cluster.down()

    started = time.monotonic()
    private_cluster.up()
    warm = time.monotonic() - started
    assert private_cluster.status().running
    assert warm <= 10.0, f"warm up took {warm:.1f}s (goal: <= 10 s)"


def test_crash_during_up_names_the_component_and_shows_its_log(
    private_cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    fake = tmp_path / "kube-apiserver"
    fake.write_text(
        "#!/bin/sh\necho 'E0101 bad flag --etcd-servers: simulated failure' >&2\nexit 3\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    real = private_cluster._tools()
    crashing = EmbeddedCluster(private_cluster.dir, tools=lambda: {**real, "kube-apiserver": fake})

    with pytest.raises(CharthouseError) as failure:
        crashing.up()

    message = str(failure.value)
    assert message.startswith("kube-apiserver exited with status 3")
    assert "simulated failure" in message  # the tail of its log
    assert not crashing.component("etcd").pid(), "a failed up must not leave etcd running"


def test_status_reports_a_component_that_died(private_cluster: EmbeddedCluster) -> None:
    private_cluster.up()
    scheduler = private_cluster.component("kube-scheduler")
    pid = scheduler.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    def crashed() -> Status | None:
        status = private_cluster.status()
        return status if not status.running else None

    status = eventually(crashed, timeout=10, what="status to notice the crash")
    assert status.components["kube-scheduler"] == "CRASHED"
    assert any(problem.startswith("kube-scheduler is not running") for problem in status.problems)
