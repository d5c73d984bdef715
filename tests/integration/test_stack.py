"""The stack end to end: the compose topology (proxy -> api -> database, and a cache) as
one release, with our example API (examples/api) as the api, driven from the host
through the ingress controller's load-balancer address as a user's client would.

What a user relies on:
- a request through the proxy writes a row and a second one reads it back;
- the api reaches the cache through REDIS_URL (the counter is in Valkey, under the
  cache chart's password);
- readiness drops when the database goes away (scaled to 0) and comes back with it, and
  the row written before is still there;
- a rolling restart of the api under steady traffic fails no request (the example drains
  on SIGTERM; the app chart surges before it removes a pod);
- DATABASE_URL comes from the database's Secret: no password in the pod spec.

These run with helm 4 only: after the install nothing here goes through helm, and both
helms' installs of the stack are tested by test_install.py (every scenario, helm 3 and 4)
and their upgrades by test_release_upgrade.py.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from . import stack
from .conftest import SessionCluster
from .harness import Deployer, Release
from .helm import Helm
from .kube import Kube, Obj, eventually, kubectl
from .test_cache import cli_script, password_env, run_client

# The stack owns the cluster-wide IngressClass "nginx": one such test at a time.
pytestmark = [pytest.mark.integration, pytest.mark.exclusive_cluster_objects]

RELEASE = "shop"
APP = f"{RELEASE}-app"
DATABASE = f"{RELEASE}-database"
CACHE = f"{RELEASE}-cache"


@pytest.fixture
def shop(
    cluster: SessionCluster, helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> Iterator[tuple[Release, stack.Edge]]:
    if not cluster.runs_containers:
        pytest.skip("needs a node that runs containers; kwok pods never answer")
    release = deploy(
        "stack",
        helm,
        release=RELEASE,
        values_files=[stack.EXAMPLE_VALUES],
        values=stack.example_image_values(cluster.provider),
    )
    yield release, stack.edge(kube, namespace, RELEASE)


def _app_pods(kube: Kube, namespace: str) -> list[Obj]:
    return [
        p
        for p in kube.pods(namespace, labels=f"app.kubernetes.io/instance={RELEASE}")
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "app"
        and not p["metadata"].get("deletionTimestamp")
    ]


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _scale_database(kube: Kube, namespace: str, replicas: int) -> None:
    scaled = kubectl(
        kube.kubeconfig,
        "scale",
        "statefulset",
        DATABASE,
        "-n",
        namespace,
        f"--replicas={replicas}",
    )
    assert scaled.returncode == 0, scaled.stderr


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_a_row_and_a_count_through_the_proxy_outlive_a_database_outage(
    shop: tuple[Release, stack.Edge],
    kube: Kube,
    namespace: str,
    record_property: Callable[[str, object], None],
) -> None:
    release, front = shop
    row = front.write_item("order-1")
    read = front.read_item(row["id"])
    assert read.status == 200 and read.body == row, read
    assert front.read_item(row["id"] + 1000).status == 404

    # The api counts in the cache: REDIS_URL reaches the stack's Valkey.
    name = f"visits-{secrets.token_hex(3)}"
    values = [front.request("POST", f"/counters/{name}") for _ in range(3)]
    assert [(v.status, v.body["value"]) for v in values] == [(200, 1), (200, 2), (200, 3)], values
    assert front.request("GET", f"/counters/{name}").body == {"name": name, "value": 3}
    # The count is in the stack's Valkey, read with the cache chart's password from a
    # pod of the release (what the cache's NetworkPolicy admits).
    sts = kube.get("apps/v1", "StatefulSet", CACHE, namespace)
    assert sts is not None
    image = next(c["image"] for c in sts["spec"]["template"]["spec"]["containers"])
    stored = run_client(
        kube,
        namespace,
        image,
        cli_script(["GET", f"counter:{name}"], host=CACHE),
        env=password_env(CACHE),
        labels={"app.kubernetes.io/instance": RELEASE},
    )
    assert stored.strip() == "3"
    assert front.request("GET", "/health/ready").body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
    }

    # The database goes away: every api pod turns unready (its readiness checks the
    # database), so the proxy has no endpoint left and answers 503 itself.
    pods = _app_pods(kube, namespace)
    assert len(pods) == 2 and all(_ready(p) for p in pods)
    _scale_database(kube, namespace, 0)
    started = time.monotonic()
    eventually(
        lambda: not any(_ready(p) for p in _app_pods(kube, namespace)),
        timeout=90,
        what="every api pod to turn unready without its database",
    )
    dropped = time.monotonic() - started
    during = front.read_item(row["id"])
    assert during.status == 503, during
    containers = [c for p in _app_pods(kube, namespace) for c in p["status"]["containerStatuses"]]
    assert all(c["restartCount"] == 0 for c in containers), "liveness must not restart the api"

    # It comes back (same volume): readiness returns and the row is still there.
    _scale_database(kube, namespace, 1)
    started = time.monotonic()
    eventually(
        lambda: len(pods := _app_pods(kube, namespace)) == 2 and all(_ready(p) for p in pods),
        timeout=180,
        what="the api pods to turn ready again with the database back",
    )
    returned = time.monotonic() - started
    after = eventually(
        lambda: (answer := front.read_item(row["id"])).status == 200 and answer,
        timeout=30,
        what="the row to be readable through the proxy again",
    )
    assert after.body == row
    second = front.write_item("order-2")
    assert second["id"] > row["id"]
    print(
        f"stack e2e: rows written 2, read back 2; readiness dropped {dropped:.1f}s after "
        f"the database scaled to 0, returned {returned:.1f}s after it scaled to 1"
    )
    record_property("readiness_drop_seconds", round(dropped, 1))
    record_property("readiness_return_seconds", round(returned, 1))

    # DATABASE_URL from the database's Secret (key uri): the password is not in the pod.
    secret = kube.get("v1", "Secret", DATABASE, namespace)
    assert secret is not None
    password = base64.b64decode(secret["data"]["password"]).decode()
    app = kube.get("apps/v1", "Deployment", APP, namespace)
    assert app is not None
    (container,) = [c for c in app["spec"]["template"]["spec"]["containers"] if c["name"] == "app"]
    (database_url,) = [e for e in container["env"] if e["name"] == "DATABASE_URL"]
    assert database_url["valueFrom"]["secretKeyRef"] == {"name": DATABASE, "key": "uri"}
    assert password not in json.dumps(_app_pods(kube, namespace))
    tested = release.helm.test(release.name, namespace)
    assert tested.ok, tested.stdout + tested.stderr


class _Traffic:
    """Requests one after another through the proxy until stopped: a write, then a read
    of what was written. Every answer is counted; a refused connection is a failure."""

    def __init__(self, front: stack.Edge) -> None:
        self.front = front
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _count(self, what: str, status: int | str, expected: int) -> bool:
        self.outcomes[f"{what} {status}"] += 1
        if status != expected:
            self.failures.append(f"{time.time():.2f} {what}: {status}")
        return status == expected

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                written = self.front.request("POST", "/items", {"name": f"load-{n}"})
                if self._count("POST", written.status, 201):
                    read = self.front.read_item(written.body["id"])
                    self._count("GET", read.status, 200)
            except OSError as error:
                self._count("request", type(error).__name__, 0)


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_a_rolling_restart_of_the_api_under_traffic_fails_no_request(
    shop: tuple[Release, stack.Edge],
    kube: Kube,
    namespace: str,
    record_property: Callable[[str, object], None],
) -> None:
    _, front = shop
    before = {p["metadata"]["name"] for p in _app_pods(kube, namespace)}
    with _Traffic(front) as traffic:
        time.sleep(2)
        restarted = kubectl(
            kube.kubeconfig, "rollout", "restart", f"deployment/{APP}", "-n", namespace
        )
        assert restarted.returncode == 0, restarted.stderr
        status = kubectl(
            kube.kubeconfig,
            "rollout",
            "status",
            f"deployment/{APP}",
            "-n",
            namespace,
            "--timeout=180s",
            timeout=200,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        # The old pods drain for SHUTDOWN_DRAIN_DELAY (5s) after SIGTERM: keep the
        # traffic going until they are gone.
        eventually(
            lambda: (
                not before
                & {
                    p["metadata"]["name"]
                    for p in kube.pods(namespace, labels="app.kubernetes.io/name=app")
                }
            ),
            timeout=60,
            what="the old api pods to exit",
        )
        time.sleep(1)
    sent = sum(traffic.outcomes.values())
    print(
        f"rolling restart of {APP} under traffic: {sent} requests sent, "
        f"{len(traffic.failures)} failed; {dict(traffic.outcomes)}"
    )
    record_property("requests_sent", sent)
    record_property("requests_failed", len(traffic.failures))
    after = {p["metadata"]["name"] for p in _app_pods(kube, namespace)}
    assert after and not after & before, "the pods were not replaced"
    assert sent > 20, traffic.outcomes
    assert not traffic.failures, traffic.failures[:20]
