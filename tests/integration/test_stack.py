"""The stack end to end: the compose topology (proxy -> api -> database, and a cache) as
one release, with our example API (examples/api) as the api, driven from the host
through the ingress controller's load-balancer address as a user's client would.

What a user relies on:
- a request through the proxy writes a row and a second one reads it back;
- the api reaches the cache through REDIS_URL (the counter is in Valkey, under the
  cache chart's password);
- readiness (/health/ready) drops when the database goes away (scaled to 0) and comes
  back with it, and the row written before is still there;
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
import time
from collections.abc import Callable, Iterator

import pytest

from . import stack
from .conftest import SessionCluster
from .harness import EXCLUSIVE, Deployer, Release
from .helm import Helm
from .kube import Kube, Obj, eventually, kubectl
from .load import Load
from .test_cache import cli_script, password_env, run_client

# The stack owns the cluster-wide IngressClass "nginx": every test here installs it, so
# every test holds the cross-process lock (conftest) from before its install until after
# its namespace is gone.
pytestmark = [pytest.mark.integration, getattr(pytest.mark, EXCLUSIVE)]

RELEASE = "shop"
APP = f"{RELEASE}-app"
DATABASE = f"{RELEASE}-database"
CACHE = f"{RELEASE}-cache"


@pytest.fixture
def shop(
    cluster: SessionCluster, helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> Iterator[tuple[Release, stack.Api]]:
    if not cluster.runs_containers:
        pytest.skip("needs a node that runs containers; kwok pods never answer")
    release = deploy(
        "stack",
        helm,
        release=RELEASE,
        values_files=[stack.EXAMPLE_VALUES],
        values=stack.example_image_values(cluster.provider),
    )
    yield release, stack.reach(kube, namespace, RELEASE)


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


def _readiness_failures(kube: Kube, namespace: str) -> list[str]:
    """kubelet's messages for the api pods' failed readiness probes (/health/ready)."""
    return [
        e.get("message", "")
        for e in kube.events(namespace)
        if e.get("reason") == "Unhealthy"
        and e["involvedObject"].get("name", "").startswith(f"{APP}-")
        and "Readiness probe failed" in e.get("message", "")
    ]


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_a_row_and_a_count_through_the_proxy_outlive_a_database_outage(
    shop: tuple[Release, stack.Api],
    kube: Kube,
    namespace: str,
    record_property: Callable[[str, object], None],
) -> None:
    release, api = shop
    row = api.write_item("order-1")
    read = api.read_item(row["id"])
    assert read.status == 200 and read.json() == row, (read.status, read.text)
    assert api.read_item(row["id"] + 1000).status == 404

    # The api counts in the cache: REDIS_URL reaches the stack's Valkey.
    name = f"visits-{secrets.token_hex(3)}"
    counts = [api.request("POST", f"/counters/{name}") for _ in range(3)]
    assert [(c.status, c.json()["value"]) for c in counts] == [(200, 1), (200, 2), (200, 3)]
    assert api.request("GET", f"/counters/{name}").json() == {"name": name, "value": 3}
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
    assert api.request("GET", "/health/ready").json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
    }

    # The database goes away: every api pod's /health/ready fails (it checks the
    # database), the pods turn unready, and the proxy, with no endpoint left, answers 503.
    pods = _app_pods(kube, namespace)
    assert len(pods) == 2 and all(_ready(p) for p in pods)
    assert not _readiness_failures(kube, namespace)
    _scale_database(kube, namespace, 0)
    started = time.monotonic()
    eventually(
        lambda: not any(_ready(p) for p in _app_pods(kube, namespace)),
        timeout=90,
        what="every api pod to turn unready without its database",
    )
    dropped = time.monotonic() - started
    failures = eventually(
        lambda: _readiness_failures(kube, namespace),
        timeout=30,
        what="kubelet's event of a failed readiness probe",
    )
    assert any("503" in message for message in failures), failures
    during = api.read_item(row["id"])
    assert during.status == 503, (during.status, during.text)
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
        lambda: (answer := api.read_item(row["id"])).status == 200 and answer,
        timeout=30,
        what="the row to be readable through the proxy again",
    )
    assert after.json() == row
    second = api.write_item("order-2")
    assert second["id"] > row["id"]
    assert api.read_item(second["id"]).json() == second
    print(
        f"stack e2e: rows written 2, read back 2 (one across the outage); readiness "
        f"dropped {dropped:.1f}s after the database scaled to 0 ({len(failures)} failed "
        f"probe events), returned {returned:.1f}s after it scaled to 1"
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


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_a_rolling_restart_of_the_api_under_traffic_fails_no_request(
    shop: tuple[Release, stack.Api],
    kube: Kube,
    namespace: str,
    record_property: Callable[[str, object], None],
) -> None:
    _, api = shop
    row = api.write_item("read-under-restart")
    before = {p["metadata"]["name"] for p in _app_pods(kube, namespace)}
    # Reads of one row through proxy -> api -> database, a new connection each, so
    # every request is routed afresh while pods come and go.
    with Load(api.url(f"/items/{row['id']}"), rate=25, headers=api.headers) as load:
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
        # The old pods drain for SHUTDOWN_DRAIN_DELAY (15s) after SIGTERM: keep the
        # traffic going until they are gone.
        eventually(
            lambda: not before & {p["metadata"]["name"] for p in _app_pods(kube, namespace)},
            timeout=60,
            what="the old api pods to exit",
        )
        eventually(
            lambda: not before & {p["metadata"]["name"] for p in kube.pods(namespace)},
            timeout=60,
            what="the old api pods to be deleted",
        )
        time.sleep(1)
    results = load.results
    right = results.count(lambda r: r.code == 200 and json.loads(r.body) == row)
    print(
        f"rolling restart of {APP} under traffic: {results.sent} requests sent, "
        f"{results.failed} failed, {right} answered the row; {results.summary()}"
    )
    record_property("requests_sent", results.sent)
    record_property("requests_failed", results.failed)
    after = {p["metadata"]["name"] for p in _app_pods(kube, namespace)}
    assert after and not after & before, "the pods were not replaced"
    assert results.sent > 100, results.summary()
    assert results.failed == 0, results.failure_report()
    assert right == results.sent, results.summary()
