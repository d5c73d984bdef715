"""The app chart's rollout strategies under load, on a node whose pods really run.

Requests go from this machine to the release's ClusterIP Service (the host routes the
Service range to the node's bridge; kube-proxy picks a pod per connection) at a steady
rate for the whole ``helm upgrade``/``helm rollback``, one connection per request, and
every response is counted (tests/integration/load.py, vegeta). Each pod answers with
the version it runs: ``WHOAMI_NAME`` comes from the pod's own
``app.kubernetes.io/version`` label through the downward API, and whoami echoes it as
``Name: v1.10.4`` (the test image is the same build under both tags, so the version a
pod was *deployed as* is what tells them apart).

Helm 3 and Helm 4 both drive the rollouts where they act differently: how an upgrade
and a rollback are applied (three-way merge, server-side apply) and how ``--wait``
decides (its own checks, kstatus). Where the outcome is only the cluster's (the
Deployment controller's surge arithmetic, kube-proxy's spread over the canary's pods,
a checksum annotation both render alike, as tests/unit/test_render_engines.py shows),
Helm 4 alone runs it.

Figures (requests sent and failed per rollout, canary shares) are printed as
``FIGURE app.<test>: ...`` lines; nothing is asserted on time. Kwok nodes answer no
request, so there these tests skip.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from charthouse import paths

from .conftest import SessionCluster
from .harness import Deployer, Release
from .helm import Helm
from .kube import Kube, Obj, eventually
from .load import Load, Results, binomial_interval, burst, wait_until_serving

pytestmark = pytest.mark.integration
HELM4_ONLY = pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])

CI = paths.CHARTS_DIR / "app" / "ci"
OLD, NEW = "v1.11.0", "v1.10.4"  # two tags of the whoami image the cluster serves
# Seconds the load goes on after a switch has settled, so it also covers what follows.
LINGER = 2.0
VERSION_LABEL = "app.kubernetes.io/version"
SELECTOR = "app.kubernetes.io/instance=app,app.kubernetes.io/component=app"
# Each pod says which version it was deployed as, in every answer.
ANSWERS_WITH_VERSION = {
    "env": {
        "WHOAMI_NAME": {
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{VERSION_LABEL}']"}}
        }
    }
}


@pytest.fixture(autouse=True)
def _pods_really_run(cluster: SessionCluster) -> None:
    if not cluster.runs_containers:
        pytest.skip("kwok nodes run no container: nothing would answer the load")


def _service_url(kube: Kube, namespace: str, service: str) -> str:
    svc = kube.get("v1", "Service", service, namespace)
    assert svc is not None, f"Service {service} not found"
    url = f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}/"
    wait_until_serving(url)
    return url


def _versions(results: Results) -> Counter[object]:
    return results.tally(lambda r: r.line("Name") if r.ok else "failed")


def _figure(test: str, results: Results, **extra: object) -> None:
    more = "".join(f" {k}={v}" for k, v in extra.items())
    print(f"FIGURE app.{test}: {results.summary()}{more}")


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@dataclass
class PodCounts:
    """One look at a release's pods: per ReplicaSet (pod-template-hash), how many are
    ready and how many exist, not counting pods being deleted."""

    ready: dict[str, int]
    total: dict[str, int]
    terminating: int

    @property
    def all_ready(self) -> int:
        return sum(self.ready.values())

    @property
    def all_total(self) -> int:
        return sum(self.total.values())


@dataclass
class PodWatch:
    """A thread listing the release's pods every ``interval`` seconds for as long as the
    ``with`` block runs (each list is one consistent snapshot from the API server)."""

    kube: Kube
    namespace: str
    interval: float = 0.2
    samples: list[PodCounts] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> PodCounts:
        ready: Counter[str] = Counter()
        total: Counter[str] = Counter()
        terminating = 0
        for pod in self.kube.pods(self.namespace, labels=SELECTOR):
            if pod["metadata"].get("deletionTimestamp"):
                terminating += 1
                continue
            rs = pod["metadata"]["labels"].get("pod-template-hash", "?")
            total[rs] += 1
            ready[rs] += _ready(pod)
        return PodCounts(dict(ready), dict(total), terminating)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(self.sample())

    @contextmanager
    def running(self) -> Iterator[PodWatch]:
        self.samples.append(self.sample())
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)
            self.samples.append(self.sample())


def _no_pods_but(kube: Kube, namespace: str, version: str) -> bool:
    """Every pod of the release (terminating ones too) runs ``version``."""
    pods = kube.pods(namespace, labels=SELECTOR)
    return bool(pods) and all(p["metadata"]["labels"].get(VERSION_LABEL) == version for p in pods)


# --- rolling -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("helm", "max_surge", "max_unavailable", "surge", "unavailable"),
    [(3, 1, 0, 1, 0), (4, 1, 0, 1, 0), (4, "50%", "25%", 2, 1)],
    ids=["helm3-surge1-unavailable0", "helm4-surge1-unavailable0", "helm4-surge50%-unavailable25%"],
    indirect=["helm"],
)
def test_rolling_update_under_load(
    max_surge: int | str,
    max_unavailable: int | str,
    surge: int,
    unavailable: int,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
) -> None:
    replicas = 4
    values: dict[str, Any] = {
        **ANSWERS_WITH_VERSION,
        "replicaCount": replicas,
        "image": {"tag": OLD},
        "rollout": {"rolling": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}},
    }
    release = deploy("app", helm, values=values)
    url = _service_url(kube, namespace, "app")
    watch = PodWatch(Kube(kube.kubeconfig), namespace)

    with watch.running(), Load(url) as load:
        deploy.upgrade(release, values=values, set_values=[f"image.tag={NEW}"])
        eventually(lambda: _no_pods_but(kube, namespace, NEW), timeout=120, what="old pods gone")
    results = load.results
    after = burst(url, 200)

    replica_sets = {rs for s in watch.samples for rs in s.total}
    most = max(s.all_total for s in watch.samples)
    fewest_ready = min(s.all_ready for s in watch.samples)
    _figure(
        f"rolling[helm{helm.major},{max_surge}/{max_unavailable}]",
        results,
        versions=dict(_versions(results)),
        pods_max=most,
        ready_min=fewest_ready,
        samples=len(watch.samples),
    )
    assert results.failed == 0, results.failure_report()
    assert set(_versions(results)) == {OLD, NEW}, "the load did not span the rollout"
    assert len(replica_sets) == 2, f"expected the old and the new ReplicaSet, saw {replica_sets}"
    assert most <= replicas + surge, (
        f"maxSurge {max_surge}: {most} pods at once (> {replicas}+{surge})"
    )
    assert most > replicas, "no sample caught a surge pod: the watch saw no rollout"
    assert fewest_ready >= replicas - unavailable, (
        f"maxUnavailable {max_unavailable}: only {fewest_ready} ready pods at one point"
    )
    assert after.failed == 0 and _versions(after) == Counter({NEW: 200}), after.summary()


# --- blue-green --------------------------------------------------------------------


def _all_answered_by(results: Results, version: str) -> bool:
    return results.failed == 0 and set(_versions(results)) == {version}


def _old_after_first_new(results: Results, old: str, new: str) -> int:
    """Answers from ``old`` after the first one from ``new``: 0 for one clean cut."""
    order = [r.line("Name") for r in results if r.ok]
    return order[order.index(new) :].count(old) if new in order else -1


def test_blue_green_switch_and_rollback_under_load(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    values_files = [CI / "bluegreen-values.yaml"]  # 3 pods each: blue v1.11.0, green v1.10.4
    release = deploy("app", helm, values_files=values_files, values=ANSWERS_WITH_VERSION)
    main = _service_url(kube, namespace, "app")
    preview = _service_url(kube, namespace, "app-preview")

    before = {"main": burst(main, 200), "preview": burst(preview, 200)}
    assert _all_answered_by(before["preview"], NEW), before["preview"].summary()
    assert _all_answered_by(before["main"], OLD), before["main"].summary()

    with Load(main) as switch:
        deploy.upgrade(
            release,
            values_files=values_files,
            values=ANSWERS_WITH_VERSION,
            set_values=["rollout.blueGreen.activeColor=green"],
        )
        eventually(lambda: _all_answered_by(burst(main, 20), NEW), timeout=30, what="green")
        time.sleep(LINGER)
    switched = burst(main, 200)

    with Load(main) as rollback:
        _rollback(release, revision=1)
        eventually(lambda: _all_answered_by(burst(main, 20), OLD), timeout=30, what="blue")
        time.sleep(LINGER)
    rolled_back = burst(main, 200)

    for name, results, old, new in (
        ("switch", switch.results, OLD, NEW),
        ("rollback", rollback.results, NEW, OLD),
    ):
        late = _old_after_first_new(results, old, new)
        _figure(
            f"bluegreen.{name}[helm{helm.major}]",
            results,
            versions=dict(_versions(results)),
            old_after_first_new=late,
        )
        assert results.failed == 0, f"{name}: {results.failure_report()}"
        assert set(_versions(results)) == {old, new}, f"{name}: the load did not span it"
        # One cut: the Service's endpoints change in one update, kube-proxy's rules in
        # one transaction, and each request is a new connection.
        assert late == 0, f"{name}: {late} answers from {old} after the first from {new}"
    assert _all_answered_by(switched, NEW), f"after the switch: {switched.summary()}"
    assert _all_answered_by(rolled_back, OLD), f"after the rollback: {rolled_back.summary()}"
    # The preview Service follows: after the rollback it serves green again.
    assert _all_answered_by(burst(preview, 100), NEW)


def _rollback(release: Release, *, revision: int) -> None:
    result = release.helm.rollback(release.name, release.namespace, revision)
    assert result.ok, f"helm rollback failed:\n{result.stderr}"


# --- canary ------------------------------------------------------------------------


def _ready_tracks(kube: Kube, namespace: str) -> Counter[str]:
    return Counter(
        p["metadata"]["labels"].get("charthouse.dev/track", "?")
        for p in kube.pods(namespace, labels=SELECTOR)
        if _ready(p) and not p["metadata"].get("deletionTimestamp")
    )


def _ready_pods(kube: Kube, namespace: str) -> set[str]:
    return {p["metadata"]["name"] for p in kube.pods(namespace, labels=SELECTOR) if _ready(p)}


def _answering_pods(url: str) -> set[str]:
    """The pods that answered 200 requests (each of 10 pods misses them all with
    probability 0.9^200, about 1e-9)."""
    return {r.line("Hostname") or "?" for r in burst(url, 200) if r.ok}


def _only_pods(kube: Kube, namespace: str, want: dict[str, int]) -> bool:
    """Exactly ``want`` ready pods per track, and no other pod (terminating ones
    included: a stopping pod may still answer a connection made to it)."""
    pods = kube.pods(namespace, labels=SELECTOR)
    return _ready_tracks(kube, namespace) == Counter(want) and len(pods) == sum(want.values())


def _settle(kube: Kube, namespace: str, url: str, want: dict[str, int]) -> None:
    """Until the pods are ``want`` and the Service routes to each of them and to no
    other (kube-proxy programs a pod a moment after it is ready)."""
    eventually(lambda: _only_pods(kube, namespace, want), timeout=90, what=f"pods {want}")
    eventually(
        lambda: _answering_pods(url) == _ready_pods(kube, namespace),
        timeout=30,
        what=f"every ready pod of {want}, and no other, answering",
    )


@HELM4_ONLY
def test_canary_shares_through_the_service(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    """Weight w of ``replicas`` pods: the chart gives the canary round(w% of replicas)
    pods (at least one), and the Service spreads connections evenly over pods, so the
    canary's share of 1,000 requests must lie in the 99.9 % binomial interval around
    its share of the pods. With 10 pods that is the weight itself at 10, 50 and 100 %;
    at 25 % the chart's split is 7/3 (charts/app/README.md), so 30 %: exact percentages
    need httpRoute's weighted backends."""
    values_files = [CI / "canary-values.yaml"]  # canary tag v1.10.4, stable v1.11.0
    replicas = 10
    base = {**ANSWERS_WITH_VERSION, "replicaCount": replicas}
    release: Release | None = None
    requests = 1000
    failures = []
    for weight in (10, 25, 50, 100):
        settings = [f"rollout.canary.weight={weight}"]
        if release is None:
            release = deploy(
                "app", helm, values_files=values_files, values=base, set_values=settings
            )
        else:
            deploy.upgrade(release, values_files=values_files, values=base, set_values=settings)
        canary_pods = replicas if weight == 100 else max(1, (replicas * weight + 50) // 100)
        want = {"canary": canary_pods, "stable": replicas - canary_pods}
        want = {k: v for k, v in want.items() if v}
        url = _service_url(kube, namespace, "app")
        _settle(kube, namespace, url, want)
        results = burst(url, requests)
        canary = results.count(lambda r: r.ok and r.line("Name") == NEW)
        expected = canary_pods / replicas
        low, high = binomial_interval(requests, expected)
        print(
            f"FIGURE app.canary[helm{helm.major},weight={weight}]: requests={requests} "
            f"failed={results.failed} pods={want} canary_share={canary / requests:.3f} "
            f"expected={expected:.2f} interval99.9=[{low / requests:.3f},{high / requests:.3f}]"
        )
        if results.failed:
            failures.append(f"weight {weight}: {results.failure_report()}")
        if not low <= canary <= high:
            failures.append(
                f"weight {weight}: canary answered {canary}/{requests}, outside [{low}, {high}] "
                f"around {expected:.0%}"
            )
    assert not failures, "\n".join(failures)


# --- a config change ---------------------------------------------------------------


@HELM4_ONLY
def test_config_change_rolls_the_pods_under_load(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    """``config.env`` is the app's own setting (whoami reads ``WHOAMI_NAME`` and says
    ``Name: ...``), stored in the release's ConfigMap: changing it must restart every
    pod (the chart's checksum annotation) and the new value must be what answers."""
    values: dict[str, Any] = {"replicaCount": 3, "config": {"env": {"WHOAMI_NAME": "before"}}}
    release = deploy("app", helm, values=values)
    url = _service_url(kube, namespace, "app")
    pods_before = {p["metadata"]["name"] for p in kube.pods(namespace, labels=SELECTOR)}
    assert _versions(burst(url, 100)) == Counter({"before": 100})

    with Load(url) as load:
        deploy.upgrade(release, values=values, set_values=["config.env.WHOAMI_NAME=after"])
        eventually(
            lambda: not pods_before & {p["metadata"]["name"] for p in kube.pods(namespace)},
            timeout=120,
            what="every pod of the old configuration gone",
        )
    results = load.results
    after = burst(url, 200)

    _figure(f"config[helm{helm.major}]", results, versions=dict(_versions(results)))
    assert results.failed == 0, results.failure_report()
    assert set(_versions(results)) == {"before", "after"}, "the load did not span the rollout"
    assert after.failed == 0 and _versions(after) == Counter({"after": 200}), after.summary()
    answering = {r.line("Hostname") for r in after}
    assert answering and answering.isdisjoint(pods_before), answering


# --- a broken readiness probe ------------------------------------------------------

# The repo's "your own service" scenario: busybox httpd serving a directory, which
# answers 404 for a path it has no file for, as most services do (whoami answers 200
# on every path). Its page says which version the pod runs.
OWN_SERVICE = CI / "custom-probes-values.yaml"
SERVE_VERSION = {
    "args": ['echo "Name: $APP_VERSION" > /www/index.html && exec httpd -f -p 8080 -h /www'],
    "env": {"APP_VERSION": "v1"},
}
BROKEN = ["probes.readiness.path=/healthz", "env.APP_VERSION=v2"]
FAIL_FAST = ("--timeout", "30s")  # the pods never become ready: no need to wait 180 s


def _assert_names_the_probe(message: str, pods: list[str]) -> None:
    for pod in pods:
        assert pod in message, f"{pod} not named in:\n{message}"
    assert "readiness probe (httpGet http://:http/healthz) failing" in message, message
    assert "Readiness probe failed: HTTP probe failed with statuscode: 404" in message, message


def _new_pods(kube: Kube, namespace: str, version: str) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in kube.pods(namespace, labels=SELECTOR)
        if any(
            e.get("name") == "APP_VERSION" and e.get("value") == version
            for e in p["spec"]["containers"][0].get("env") or []
        )
    ]


def test_a_broken_readiness_path_keeps_the_new_version_out_of_the_service(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy("app", helm, values_files=[OWN_SERVICE], values=SERVE_VERSION)
    url = _service_url(kube, namespace, "app")
    assert _versions(burst(url, 100)) == Counter({"v1": 100})

    with Load(url) as load, pytest.raises(AssertionError) as failed:
        deploy.upgrade(
            release,
            values_files=[OWN_SERVICE],
            values=SERVE_VERSION,
            set_values=BROKEN,
            extra=FAIL_FAST,
        )
    results = load.results

    _figure(f"broken_readiness[helm{helm.major}]", results, versions=dict(_versions(results)))
    new = _new_pods(kube, namespace, "v2")
    assert new, "the upgrade made no pod of the new version"
    _assert_names_the_probe(str(failed.value), new)
    assert results.failed == 0, results.failure_report()
    assert _versions(results) == Counter({"v1": results.sent}), "a v2 pod got traffic"


def test_install_with_a_broken_readiness_path_fails_naming_pod_probe_and_message(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    with pytest.raises(AssertionError) as failed:
        deploy(
            "app",
            helm,
            values_files=[OWN_SERVICE],
            values=SERVE_VERSION,
            set_values=BROKEN,
            extra=FAIL_FAST,
        )
    message = str(failed.value)
    why = message.partition("why:")[2].strip()
    print(f"FIGURE app.broken_install[helm{helm.major}]: {why}")
    pods = [p["metadata"]["name"] for p in kube.pods(namespace, labels=SELECTOR)]
    assert pods, "the install made no pod"
    assert message.startswith("helm install"), message
    _assert_names_the_probe(message, pods)
