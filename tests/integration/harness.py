"""The pieces integration tests share: a deployed release, the deployer, failure diagnostics."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .helm import Helm, HelmResult
from .kube import Kube, Obj

# Charts that create a cluster-scoped object with a fixed name (the ingress chart's
# IngressClass; the stack contains it): two releases at once would fight over it,
# so with pytest-xdist their tests take a cluster-wide lock (see conftest).
OWNS_FIXED_CLUSTER_OBJECTS = frozenset({"ingress", "stack"})
EXCLUSIVE = "exclusive_cluster_objects"


@dataclass
class ExclusiveLock:
    """Whether this process holds the exclusive lock now (set by conftest's
    ``exclusive_cluster_objects``, the one place that takes it)."""

    held: bool = False


EXCLUSIVE_LOCK = ExclusiveLock()


def require_exclusive(chart: str) -> None:
    """Refuse to install or upgrade an ingress or stack release without the lock: such a
    test fights every other one over the IngressClass ``nginx`` (seen: a stack test
    without the mark made concurrent ingress tests fail on its ownership)."""
    if chart in OWNS_FIXED_CLUSTER_OBJECTS and not EXCLUSIVE_LOCK.held:
        raise AssertionError(
            f"the {chart} chart owns fixed-name cluster objects: its test must hold the "
            f"exclusive lock (parametrize with harness.chart_param, or mark it "
            f"pytest.mark.{EXCLUSIVE})"
        )


# The fixed-name cluster-scoped kinds those charts create (the IngressClass `nginx`, the
# GatewayClass `traefik`).
FIXED_NAME_KINDS = (
    ("networking.k8s.io/v1", "IngressClass"),
    ("gateway.networking.k8s.io/v1", "GatewayClass"),
)


def release_orphans(kube: Kube, helm: Helm, test_namespace_labels: dict[str, str]) -> list[str]:
    """Uninstall the test releases still holding a fixed-name cluster object.

    Called with the exclusive lock held: every test that installs such a release holds
    the lock until it is uninstalled, so one found now belongs to a run that was killed
    before its teardown (seen when the shared cluster was restarted under a running
    suite), and would make every later install fail on "cannot be imported into the
    current release". Only releases in test namespaces (the namespace fixture's labels)
    are touched, never an install someone made by hand.
    """
    released = []
    for api_version, kind in FIXED_NAME_KINDS:
        if not kube.serves(api_version, kind):  # the Gateway API CRDs are not installed
            continue
        for obj in kube.items(api_version, kind, labels="app.kubernetes.io/managed-by=Helm"):
            annotations = obj["metadata"].get("annotations") or {}
            release = annotations.get("meta.helm.sh/release-name")
            namespace = annotations.get("meta.helm.sh/release-namespace")
            if not release or not namespace:
                continue
            owner = kube.get("v1", "Namespace", namespace)
            labels = (owner or {}).get("metadata", {}).get("labels") or {}
            if owner is not None and not test_namespace_labels.items() <= labels.items():
                continue
            helm.uninstall(release, namespace, wait=False)
            name = obj["metadata"]["name"]
            kube.delete(api_version, kind, name)  # when the release's own record was gone
            released.append(f"{kind}/{name} of release {namespace}/{release}")
    return released


def chart_param(chart: str, *values: object, id: str) -> Any:
    """``pytest.param`` for a test of ``chart``, marked exclusive when the chart needs it."""
    marks = [getattr(pytest.mark, EXCLUSIVE)] if chart in OWNS_FIXED_CLUSTER_OBJECTS else []
    return pytest.param(chart, *values, id=id, marks=marks)


@dataclass
class Release:
    name: str
    namespace: str
    chart: str
    helm: Helm
    install: HelmResult


@dataclass
class Diagnostics:
    """What a failing test's report should show; filled in by the fixtures it used."""

    kube: Kube | None = None
    namespaces: list[str] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)

    def render(self) -> list[tuple[str, str]]:
        sections: list[tuple[str, str]] = []
        if self.kube is None:
            return sections
        for ns in self.namespaces:
            with contextlib.suppress(Exception):
                sections.append((f"events in {ns}", _events_text(self.kube.events(ns))))
                sections.append((f"pods in {ns}", _pods_text(self.kube.pods(ns))))
        for release in self.releases:
            with contextlib.suppress(Exception):
                sections.append(
                    (
                        f"helm{release.helm.major} status {release.name}",
                        release.helm.status(release.name, release.namespace),
                    )
                )
        return sections


def _events_text(events: list[Obj]) -> str:
    lines = [
        f"{e.get('lastTimestamp') or e.get('eventTime') or ''} {e.get('type', '')} "
        f"{e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')} "
        f"{e.get('reason', '')}: {e.get('message', '')}"
        for e in events
    ]
    return "\n".join(lines) or "(no events)"


def _pods_text(pods: list[Obj]) -> str:
    lines = []
    for pod in pods:
        status = pod.get("status", {})
        conditions = ", ".join(f"{c['type']}={c['status']}" for c in status.get("conditions") or [])
        lines.append(
            f"{pod['metadata']['name']}: phase={status.get('phase')} node="
            f"{pod['spec'].get('nodeName')} {conditions} {status.get('message', '')}"
        )
    return "\n".join(lines) or "(no pods)"


class Deployer:
    """``deploy(chart, ...)``: install, wait kstatus-style for every workload, return it."""

    def __init__(self, kube: Kube, namespace: str, diagnostics: Diagnostics) -> None:
        self.kube = kube
        self.namespace = namespace
        self.diagnostics = diagnostics

    def __call__(
        self,
        chart: str,
        helm: Helm,
        *,
        release: str | None = None,
        values_files: tuple[Path, ...] | list[Path] = (),
        values: dict[str, Any] | None = None,
        set_values: tuple[str, ...] | list[str] = (),
        chart_ref: str | Path | None = None,
        extra: tuple[str, ...] = (),
    ) -> Release:
        require_exclusive(chart)
        name = release or chart
        result = helm.install_or_upgrade(
            "install",
            name,
            chart_ref or chart,
            self.namespace,
            values_files=values_files,
            values=values,
            set_values=set_values,
            extra=extra,
        )
        deployed = Release(name, self.namespace, chart, helm, result)
        self.diagnostics.releases.append(deployed)
        self._check(result)
        self.wait(deployed)
        return deployed

    def upgrade(
        self,
        deployed: Release,
        *,
        values_files: tuple[Path, ...] | list[Path] = (),
        values: dict[str, Any] | None = None,
        set_values: tuple[str, ...] | list[str] = (),
        chart_ref: str | Path | None = None,
        extra: tuple[str, ...] = (),
    ) -> HelmResult:
        require_exclusive(deployed.chart)
        result = deployed.helm.install_or_upgrade(
            "upgrade",
            deployed.name,
            chart_ref or deployed.chart,
            deployed.namespace,
            values_files=values_files,
            values=values,
            set_values=set_values,
            extra=extra,
        )
        self._check(result)
        self.wait(deployed)
        return result

    def wait(self, deployed: Release) -> None:
        objects = deployed.helm.manifest(deployed.name, deployed.namespace)
        for obj in objects:
            obj["metadata"].setdefault("namespace", deployed.namespace)
        try:
            self.kube.wait_current(objects)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.why_not_ready()}") from None

    def _check(self, result: HelmResult) -> None:
        """helm's error, followed by what the pods say: helm only says it timed out."""
        if not result.ok:
            raise AssertionError(
                f"helm {' '.join(result.args)} failed (exit {result.returncode}):\n"
                f"{result.stderr.strip()}\n{self.why_not_ready()}"
            )

    def why_not_ready(self) -> str:
        """One line per problem of the namespace's pods (pod, container, probe, message)."""
        lines = why_not_ready(self.kube, self.namespace)
        return "why:\n  " + "\n  ".join(lines) if lines else "why: no pod reports a problem"


def why_not_ready(kube: Kube, namespace: str) -> list[str]:
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    from charthouse.cluster.diagnose import explain

    core = CoreV1Api(kube.api_client)

    def logs(pod: str, container: str, previous: bool) -> str:
        try:
            text: str = core.read_namespaced_pod_log(
                pod, namespace, container=container, previous=previous, tail_lines=20
            )
        except ApiException:
            return ""
        return text

    return explain(kube.pods(namespace), kube.events(namespace), logs)
