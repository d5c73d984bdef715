"""Integration fixtures: one cluster per session, a restricted namespace per test, helm 3 and 4.

The cluster comes from ``charthouse.cluster.provider.get("auto")`` (embedded here,
kind where Docker works, or the kubeconfig in ``$CHARTHOUSE_KUBECONFIG``). A
cluster this session started is stopped at the end (unless
``CHARTHOUSE_KEEP_CLUSTER=1`` or running under xdist, whose workers share it);
one that was already running is left alone, so ``make cluster-up`` once and
re-running the suite costs no start-up.

When a test fails, the report gets the namespace's events, every pod's status
and ``helm status`` of each release the test installed.
"""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from charthouse.cluster import gateway_crds, metrics_server
from charthouse.cluster import provider as providers
from charthouse.images.catalog import load as load_images
from charthouse.locks import file_lock

from .harness import EXCLUSIVE, EXCLUSIVE_LOCK, Deployer, Diagnostics, release_orphans
from .helm import Helm
from .images import embedded_values
from .kube import Kube, eventually

HELM_MAJORS = (3, 4)
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
# CRD bundles from ci/tools.yaml, so scenarios with HTTPRoutes or ServiceMonitors install.
CRD_BUNDLES = ("gateway-api", "prometheus-operator")


@dataclass(frozen=True)
class SessionCluster:
    provider: str
    kubeconfig: Path
    # False only for the embedded provider's kwok nodes, where no container runs.
    runs_containers: bool = True


_DIAGNOSTICS = pytest.StashKey[Diagnostics]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    diagnostics = item.stash.get(_DIAGNOSTICS, None)
    if report.failed and diagnostics is not None and call.when in ("setup", "call"):
        for title, text in diagnostics.render():
            report.sections.append((title, text))
    return report


# Figures the tests print (requests sent and failed, shares, rows) as "FIGURE name: ..."
# lines, gathered from every passed or failed test's captured output (xdist workers'
# reports included) and listed at the end of the run, so they reach the log uncaptured.
_FIGURES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    _FIGURES.extend(
        line.strip() for line in report.capstdout.splitlines() if line.startswith("FIGURE ")
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{EXCLUSIVE}: the test's chart owns fixed-name cluster-scoped objects; such tests "
        "never run at the same time (pytest-xdist workers take a lock)",
    )


@contextmanager
def exclusive_cluster_objects(kube: Kube, cluster: SessionCluster) -> Iterator[None]:
    """Hold the cross-process lock of charts owning fixed-name cluster objects, after
    uninstalling orphans of killed runs that would block their install."""
    with file_lock(providers.state_dir().with_name(f".{providers.DEFAULT_NAME}.exclusive.lock")):
        for orphan in release_orphans(kube, Helm.for_major(4, cluster.kubeconfig), RESTRICTED):
            warnings.warn(f"uninstalled an orphan of a killed test run: {orphan}", stacklevel=1)
        EXCLUSIVE_LOCK.held = True
        try:
            yield
        finally:
            EXCLUSIVE_LOCK.held = False


@pytest.fixture(autouse=True)
def _exclusive_cluster_objects(request: pytest.FixtureRequest) -> Iterator[None]:
    """Serialise marked tests across xdist workers; autouse, so it outlives the namespace
    fixture and the lock is held until the release is uninstalled."""
    if request.node.get_closest_marker(EXCLUSIVE) is None:
        yield
        return
    with exclusive_cluster_objects(
        request.getfixturevalue("kube"), request.getfixturevalue("cluster")
    ):
        yield


def _provider_name() -> str:
    return os.environ.get("CHARTHOUSE_TEST_PROVIDER", "auto")


def _owner_marker() -> Path:
    """Names the pytest process that started the cluster, so that process stops it."""
    return providers.state_dir().with_name(f".{providers.DEFAULT_NAME}.started-by-tests")


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[SessionCluster]:
    provider = providers.get(_provider_name())
    under_xdist = hasattr(request.config, "workerinput")
    session_lock = providers.state_dir().with_name(f".{providers.DEFAULT_NAME}.session.lock")
    with file_lock(session_lock):  # xdist workers share one cluster
        already_running = provider.status().running
        kubeconfig = provider.up()
        if not already_running and under_xdist:
            # Workers come and go; the controller (our parent) stops it at session end.
            _owner_marker().write_text(f"{os.getppid()}\n")
        for bundle in CRD_BUNDLES:
            gateway_crds.install(kubeconfig, bundle)
    status = provider.status()
    yield SessionCluster(
        provider.name, kubeconfig, runs_containers=status.components.get("nodes") != "kwok"
    )
    if not already_running and not under_xdist and not os.environ.get("CHARTHOUSE_KEEP_CLUSTER"):
        provider.down()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under xdist, stop the cluster a worker started for this run (see ``cluster``)."""
    marker = _owner_marker()
    if hasattr(session.config, "workerinput") or not marker.exists():
        return
    if marker.read_text().strip() == str(os.getpid()):
        marker.unlink()
        if not os.environ.get("CHARTHOUSE_KEEP_CLUSTER"):
            providers.get(_provider_name()).down()


@pytest.fixture(scope="session")
def kube(cluster: SessionCluster) -> Kube:
    return Kube(cluster.kubeconfig)


@pytest.fixture(scope="session")
def metrics_api(cluster: SessionCluster, kube: Kube) -> str:
    """The resource-metrics API (``metrics.k8s.io``), served by the real metrics-server
    (charthouse.cluster.metrics_server); what HPAs and ``kubectl top`` read. Left
    installed at the end: other sessions on the cluster share it. When it already runs
    as wanted, nothing is locked or applied; otherwise it is installed under the
    exclusive lock (its objects have fixed names). A session fixture is set up before
    any test's lock is taken, so it never waits on its own process."""
    if not cluster.runs_containers:
        pytest.skip("kwok nodes run no kubelet: no resource metrics to scrape")
    access = metrics_server.KubeletAccess.for_provider(cluster.provider)
    image = str(load_images().get("metrics-server").ref)
    found = metrics_server.serving(cluster.kubeconfig, access, image)
    if found is not None:
        return found
    with exclusive_cluster_objects(kube, cluster):
        return metrics_server.install(cluster.kubeconfig, access, image)


@pytest.fixture
def diagnostics(request: pytest.FixtureRequest, kube: Kube) -> Diagnostics:
    found = Diagnostics(kube=kube)
    request.node.stash[_DIAGNOSTICS] = found
    return found


@contextmanager
def restricted_namespace(
    kube: Kube, cluster: SessionCluster, diagnostics: Diagnostics, base: str
) -> Iterator[str]:
    """A fresh namespace ``<base>-<random>`` enforcing Pod Security ``restricted``; deleted
    afterwards.

    Releases in it are uninstalled first: deleting the namespace alone would leave
    their cluster-scoped objects (ClusterRoles, IngressClasses) behind, and the next
    install of the chart would fail on them.
    """
    name = f"{base[:40].strip('-')}-{secrets.token_hex(3)}"
    kube.create_namespace(name, RESTRICTED)
    diagnostics.namespaces.append(name)
    # Pods are refused until kube-controller-manager has made the namespace's default
    # ServiceAccount, a moment after the namespace exists.
    eventually(
        lambda: kube.get("v1", "ServiceAccount", "default", name),
        timeout=30,
        what=f"the default ServiceAccount in {name}",
    )
    yield name
    if os.environ.get("CHARTHOUSE_KEEP_NAMESPACES"):  # keep them to poke at failures
        return
    helm = Helm.for_major(4, cluster.kubeconfig)
    listing = helm.run(
        "list", "--namespace", name, "--short", "--deployed", "--failed", "--pending"
    ).check()
    for release in listing.stdout.split():
        helm.uninstall(release, name, wait=False)
    withdraw_routes(kube, name)
    kube.delete("v1", "Namespace", name)


# Routes a controller of any namespace may serve: a namespace takes seconds to terminate,
# and while it does, the next test's controller would still route a shared host to it.
ROUTE_KINDS = (
    ("networking.k8s.io/v1", "Ingress"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "GRPCRoute"),
)


def withdraw_routes(kube: Kube, namespace: str) -> None:
    """Delete the namespace's routes now, before the namespace itself goes."""
    for api_version, kind in ROUTE_KINDS:
        if not kube.serves(api_version, kind):
            continue
        for route in kube.items(api_version, kind, namespace):
            kube.delete(api_version, kind, route["metadata"]["name"], namespace)


@pytest.fixture
def namespace(
    request: pytest.FixtureRequest, kube: Kube, diagnostics: Diagnostics, cluster: SessionCluster
) -> Iterator[str]:
    """A fresh restricted namespace per test (see ``restricted_namespace``)."""
    base = request.node.originalname.removeprefix("test_").replace("_", "-")
    with restricted_namespace(kube, cluster, diagnostics, base) as name:
        yield name


@pytest.fixture(params=HELM_MAJORS, ids=[f"helm{major}" for major in HELM_MAJORS])
def helm(request: pytest.FixtureRequest, cluster: SessionCluster) -> Helm:
    major: int = request.param
    return Helm.for_major(
        major, cluster.kubeconfig, embedded_values if cluster.provider == "embedded" else None
    )


@pytest.fixture
def deploy(kube: Kube, namespace: str, diagnostics: Diagnostics) -> Deployer:
    return Deployer(kube, namespace, diagnostics)
