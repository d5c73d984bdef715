"""``cluster up`` and ``down`` of the embedded real node: down leaves the host as up found
it, up recovers from a cluster killed with SIGKILL, failures name the component.

These tests start and stop the machine's one real node themselves, so they cannot
share it with the rest of the suite: ``make test-integration`` runs them first, in
their own pytest process (``-m node_lifecycle``), before the shared cluster starts.
"""

from __future__ import annotations

import os
import secrets
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from charthouse.cluster import provider as providers
from charthouse.cluster.providers.embedded import footprint
from charthouse.cluster.providers.embedded.cluster import COMPONENTS, EmbeddedCluster
from charthouse.cluster.providers.embedded.requirements import real_node_problems
from charthouse.errors import CharthouseError

from . import pods
from .conftest import RESTRICTED
from .kube import Kube, eventually

pytestmark = [pytest.mark.integration, pytest.mark.node_lifecycle]


@pytest.fixture
def node() -> Iterator[EmbeddedCluster]:
    """The machine's embedded cluster with a real node, brought down before and after."""
    requested = os.environ.get("CHARTHOUSE_TEST_PROVIDER", "auto")
    chosen = providers.choose(requested, kubeconfig=None, directory=providers.state_dir())
    if chosen != "embedded":
        pytest.skip(f"embedded-provider behaviour; this run uses {chosen}")
    if problems := real_node_problems():
        pytest.skip("no real node here: " + "; ".join(problems))
    cluster = EmbeddedCluster(providers.state_dir(), nodes="real")
    was_running = cluster.status().running
    cluster.down()
    yield cluster
    # etcd outlives down: delete what the test made, or every later up restarts it.
    if _EXERCISED:
        cluster.up()
        kube = Kube(cluster.kubeconfig())
        for namespace in _EXERCISED:
            kube.delete("v1", "Namespace", namespace)
        _EXERCISED.clear()
    # Leave the machine's node as we found it: others may be using it.
    if was_running:
        cluster.up()
    else:
        cluster.down()


_EXERCISED: list[str] = []


def _exercise(cluster: EmbeddedCluster) -> None:
    """Leave a footprint worth cleaning: a pod on a volume behind a LoadBalancer Service."""
    kube = Kube(cluster.kubeconfig())
    namespace = f"lifecycle-{secrets.token_hex(3)}"
    kube.create_namespace(namespace, RESTRICTED)
    _EXERCISED.append(namespace)
    eventually(
        lambda: kube.get("v1", "ServiceAccount", "default", namespace),
        timeout=30,
        what="the namespace's default ServiceAccount",
    )
    kube.create(pods.claim("data", namespace, "8Mi"))
    kube.create(
        pods.pod(
            "sleeper",
            namespace,
            "echo up > /data/up; exec sleep 3600",
            restart="Always",
            labels={"app": "sleeper"},
            volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
            mounts=[{"name": "data", "mountPath": "/data"}],
        )
    )
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": namespace},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "sleeper"},
                "ports": [{"port": 80}],
            },
        }
    )
    pods.ready(kube, "sleeper", namespace, timeout=90)


def test_down_leaves_the_host_as_up_found_it(node: EmbeddedCluster) -> None:
    before = footprint.take(node.dir)

    node.up()
    _exercise(node)
    during = footprint.take(node.dir)
    node.down()
    after = footprint.take(node.dir)

    # The comparison is worth something only if the node really changed the host.
    assert footprint.differences(before, during), "up changed nothing on the host?"
    assert footprint.differences(before, after) == {}


def test_up_recovers_from_a_cluster_killed_with_sigkill(node: EmbeddedCluster) -> None:
    before = footprint.take(node.dir)
    node.up()
    _exercise(node)
    # What a stopped CI session does: every component SIGKILLed, shims and containers
    # (reparented to PID 1) left running, pid files, mounts, bridge and rules left behind.
    for name in COMPONENTS["real"]:
        pid = node.component(name).pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
    eventually(
        lambda: all(node.component(n).pid() is None for n in COMPONENTS["real"]),
        timeout=10,
        what="the components to die",
    )

    node.up()

    assert node.status().running
    kube = Kube(node.kubeconfig())
    phase, output = pods.run(kube, "default", "echo recovered")
    assert (phase, output.strip()) == ("Succeeded", "recovered")
    node.down()
    assert footprint.differences(before, footprint.take(node.dir)) == {}


def test_a_crash_during_up_names_the_component_and_leaves_nothing(
    node: EmbeddedCluster, tmp_path: Path
) -> None:
    fake = tmp_path / "kube-apiserver"
    fake.write_text(
        "#!/bin/sh\necho 'E0101 bad flag --etcd-servers: simulated failure' >&2\nexit 3\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    before = footprint.take(node.dir)

    def tools(names: tuple[str, ...]) -> dict[str, Path]:
        from charthouse.tools import ensure_tool

        return {name: fake if name == "kube-apiserver" else ensure_tool(name) for name in names}

    crashing = EmbeddedCluster(node.dir, nodes="real", tools=tools)
    with pytest.raises(CharthouseError) as failure:
        crashing.up()

    message = str(failure.value)
    assert message.startswith("kube-apiserver exited with status 3"), message
    assert "simulated failure" in message  # the tail of its log
    assert footprint.differences(before, footprint.take(node.dir)) == {}


def test_status_reports_a_component_that_died(node: EmbeddedCluster) -> None:
    node.up()
    pid = node.component("kube-scheduler").pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while node.status().running and time.monotonic() < deadline:
        time.sleep(0.1)
    status = node.status()
    assert not status.running
    assert status.components["kube-scheduler"] == "CRASHED"
    assert any(problem.startswith("kube-scheduler is not running") for problem in status.problems)
