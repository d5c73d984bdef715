"""The cache chart's promises about data and credentials, on a node that runs containers.

The tests that talk to Valkey through its Service need pods that really run (kubelet +
containerd) and the cache image `docker.io/valkey/valkey:8.1.1` served by the cluster's
local registry (built here from Debian trixie's `valkey-server` 8.1.1); on the simulated
(kwok) embedded cluster no container runs, so they skip themselves (fixture
``running_containers``). The password-stability and volume-guard tests need only the API
server and run on either.

What a user relies on, each through the Service as a client connects:
- a key written survives `helm upgrade` (the pod replaced), a hard pod kill, and
  `helm uninstall` + reinstall over the kept PVC;
- the password is required (unauthenticated and wrong-password commands are refused), is
  unchanged by upgrades, and a volume size change is refused before Kubernetes does;
- the stack's app reaches the cache through its REDIS_URL;
- the metrics sidecar (the redis_exporter stand-in) reports the server up and its keys.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
from typing import Any

import pytest
from kubernetes import client

from . import pods
from .harness import Deployer, chart_param
from .helm import Helm
from .kube import Kube, Obj, eventually

pytestmark = pytest.mark.integration

RELEASE = "cache"
FULLNAME = "cache"  # the release name contains the chart name
CLAIM = "data-cache-0"
POD = "cache-0"


@pytest.fixture
def running_containers(kube: Kube) -> None:
    """Skip on a cluster whose nodes are all simulated: nothing would answer there."""
    nodes = kube.items("v1", "Node")
    real = [
        n
        for n in nodes
        if (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") != "fake"
    ]
    if not real:
        pytest.skip(
            "needs a node that runs containers (the real-node cluster); kwok pods never run"
        )


def _core(kube: Kube) -> client.CoreV1Api:
    return client.CoreV1Api(kube.api_client)


def _cache_image(kube: Kube, namespace: str, statefulset: str) -> str:
    """The image the chart deployed: the client pods run its valkey-cli."""
    sts = kube.get("apps/v1", "StatefulSet", statefulset, namespace)
    assert sts is not None, f"StatefulSet {statefulset} not found"
    containers = sts["spec"]["template"]["spec"]["containers"]
    image: str = next(c["image"] for c in containers if c["name"] == "valkey")
    return image


CLIENT_SECURITY: dict[str, Any] = {**pods.RESTRICTED_CONTAINER, "runAsUser": 999, "runAsGroup": 999}


def run_client(
    kube: Kube,
    namespace: str,
    image: str,
    script: str,
    *,
    env: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
) -> str:
    """Run ``script`` (sh) in a restricted one-shot pod with the cache image; return its
    output. A client pod, not `kubectl exec`: the traffic goes through the Service and
    the NetworkPolicy as an app's does."""
    phase, logs = pods.run(
        kube, namespace, script, image=image, security=CLIENT_SECURITY, env=env, labels=labels
    )
    assert phase == "Succeeded", f"client pod failed:\n{logs}"
    return logs


# A Service re-created a moment ago can be unreachable for a few seconds while
# kube-proxy programs it (the pod is Ready first): refused at once (No route to host),
# or a connect nobody answers, which valkey-cli would wait on forever without `-t`
# (seen: a client pod hung 90 s after a reinstall). Only "could not connect" is
# retried, so a refused password or a missing key is never retried into a pass.
_UNTIL_REACHABLE = """tries=0
while :; do
  out=$({cli} 2>&1)
  tries=$((tries + 1))
  case "$out" in
    "Could not connect"*) if [ "$tries" -lt 20 ]; then sleep 1; continue; fi ;;
  esac
  break
done
printf '%s\\n' "$out"
"""
CONNECT_TIMEOUT_SECONDS = 2


def cli_script(*commands: list[str], host: str = FULLNAME, url_env: str | None = None) -> str:
    """valkey-cli commands against the Service (or the URL in env ``url_env``), one
    output line each; the password (REDISCLI_AUTH, or in the URL) never in argv."""
    target = f'-u "${url_env}"' if url_env else f"-h {host} -p 6379"
    cli = f"valkey-cli --no-auth-warning -t {CONNECT_TIMEOUT_SECONDS} {target}"
    return "\n".join(_UNTIL_REACHABLE.format(cli=f"{cli} {shlex.join(c)}") for c in commands)


def password_env(secret: str = FULLNAME, key: str = "password") -> list[dict[str, Any]]:
    return [{"name": "REDISCLI_AUTH", "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}]


CLIENT = {"charthouse.dev/cache-client": FULLNAME}  # the NetworkPolicy's opt-in label


def _claim(kube: Kube, namespace: str) -> Obj:
    claim = kube.get("v1", "PersistentVolumeClaim", CLAIM, namespace)
    assert claim is not None, f"PVC {CLAIM} not found"
    return claim


def _pod_uid(kube: Kube, namespace: str) -> str:
    pod = kube.get("v1", "Pod", POD, namespace)
    assert pod is not None, f"pod {POD} not found"
    return str(pod["metadata"]["uid"])


def test_a_key_survives_upgrade_pod_kill_and_reinstall(
    running_containers: None, helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy("cache", helm, release=RELEASE)
    image = _cache_image(kube, namespace, FULLNAME)
    value = secrets.token_hex(8)

    def get() -> str:
        return run_client(
            kube,
            namespace,
            image,
            cli_script(["GET", "order:1"]),
            env=password_env(),
            labels=CLIENT,
        ).strip()

    written = run_client(
        kube,
        namespace,
        image,
        cli_script(["SET", "order:1", value]),
        env=password_env(),
        labels=CLIENT,
    )
    assert written.strip() == "OK"
    assert get() == value

    # 1. An upgrade that changes the config replaces the pod (checksum annotation).
    before = _pod_uid(kube, namespace)
    deploy.upgrade(release, set_values=["config.parameters.maxmemory=200mb"])
    eventually(lambda: _pod_uid(kube, namespace) != before, timeout=120, what="the pod to roll")
    deploy.wait(release)
    assert get() == value, "the key did not survive helm upgrade"

    # 2. A hard kill (no grace period): the server gets no chance to flush anything more.
    before = _pod_uid(kube, namespace)
    _core(kube).delete_namespaced_pod(POD, namespace, grace_period_seconds=0)

    def recreated() -> bool:
        pod = kube.get("v1", "Pod", POD, namespace)
        return pod is not None and pod["metadata"]["uid"] != before

    eventually(recreated, timeout=120, what="the StatefulSet to re-create its pod")
    deploy.wait(release)
    assert get() == value, "the key did not survive a pod kill"

    # 3. Uninstall keeps the PVC and the Secret; a reinstall mounts the same volume.
    claim_uid = _claim(kube, namespace)["metadata"]["uid"]
    helm.uninstall(RELEASE, namespace).check()
    assert kube.get("apps/v1", "StatefulSet", FULLNAME, namespace) is None
    assert kube.get("v1", "Secret", FULLNAME, namespace) is not None, "Secret deleted"
    assert _claim(kube, namespace)["metadata"]["uid"] == claim_uid
    deploy("cache", helm, release=RELEASE)
    assert _claim(kube, namespace)["metadata"]["uid"] == claim_uid, "the volume was recreated"
    assert get() == value, "the key did not survive uninstall + reinstall"


def test_the_password_is_required(
    running_containers: None, helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("cache", helm, release=RELEASE)
    image = _cache_image(kube, namespace, FULLNAME)
    # valkey-cli without a terminal prints an error reply and then an empty line.
    anonymous = run_client(
        kube, namespace, image, cli_script(["SET", "k", "v"], ["GET", "k"]), labels=CLIENT
    ).split("\n")
    anonymous = [line for line in anonymous if line]
    assert len(anonymous) == 2 and all(line.startswith("NOAUTH") for line in anonymous), anonymous
    wrong = run_client(
        kube,
        namespace,
        image,
        cli_script(["PING"]),
        env=[{"name": "REDISCLI_AUTH", "value": "not-the-password"}],
        labels=CLIENT,
    )
    assert "WRONGPASS" in wrong
    right = run_client(
        kube, namespace, image, cli_script(["PING"]), env=password_env(), labels=CLIENT
    )
    assert right.strip() == "PONG"
    # The password is in the Secret only: not in the pod the StatefulSet runs.
    secret = kube.get("v1", "Secret", FULLNAME, namespace)
    assert secret is not None
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert password not in json.dumps(kube.get("v1", "Pod", POD, namespace))
    assert helm.test(RELEASE, namespace).ok


def test_password_unchanged_after_upgrade(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy("cache", helm, release=RELEASE)
    before = kube.get("v1", "Secret", FULLNAME, namespace)
    assert before is not None and before["data"]["password"]
    # An upgrade without --reuse-values and without the password: the usual CI/CD call.
    deploy.upgrade(release, set_values=["config.parameters.maxmemory=200mb"])
    after = kube.get("v1", "Secret", FULLNAME, namespace)
    assert after is not None and after["data"] == before["data"]
    # On a node that runs containers: the restarted server took the same password.
    assert helm.test(RELEASE, namespace).ok


def test_a_volume_size_change_is_refused_with_the_safe_procedure(
    helm: Helm, deploy: Deployer, namespace: str
) -> None:
    deploy("cache", helm, release=RELEASE)
    result = helm.install_or_upgrade(
        "upgrade", RELEASE, "cache", namespace, set_values=["persistence.size=3Gi"]
    )
    assert not result.ok
    assert f"persistence.size: StatefulSet {namespace}/{FULLNAME} was installed with 2Gi" in (
        result.stderr
    )
    assert f"kubectl -n {namespace} patch pvc {CLAIM}" in result.stderr


@pytest.mark.parametrize("chart", [chart_param("stack", id="stack")])
def test_the_stacks_app_reaches_the_cache_through_redis_url(
    running_containers: None,
    chart: str,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
) -> None:
    release = deploy(chart, helm, release="shop")
    app = kube.get("apps/v1", "Deployment", "shop-app", namespace)
    assert app is not None
    (app_container,) = [
        c for c in app["spec"]["template"]["spec"]["containers"] if c["name"] == "app"
    ]
    (redis_url,) = [e for e in app_container["env"] if e["name"] == "REDIS_URL"]
    # The app's image has no Redis client, so a pod with the app's own REDIS_URL entry and
    # the app's release label (what the cache's NetworkPolicy admits) stands in for it,
    # using the URL as a client library does (a test pod: the URL in its argv is fine).
    labels = {"app.kubernetes.io/instance": release.name}
    image = _cache_image(kube, namespace, "shop-cache")
    value = secrets.token_hex(8)
    out = run_client(
        kube,
        namespace,
        image,
        cli_script(["SET", "stack:probe", value], ["GET", "stack:probe"], url_env="REDIS_URL"),
        env=[redis_url],
        labels=labels,
    )
    assert out.split() == ["OK", value]
    tested = helm.test(release.name, namespace)  # includes the stack's own REDIS_URL check
    assert tested.ok, tested.stdout + tested.stderr
    assert "shop-stack-test-cache" in tested.stdout


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_the_exporter_reports_the_cache_up_and_its_keys(
    running_containers: None, helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    """Once installed, helm takes no part in a scrape: helm 4 only (both render the same)."""
    deploy("cache", helm, release=RELEASE, values={"metrics": {"enabled": True}})
    image = _cache_image(kube, namespace, FULLNAME)
    written = run_client(
        kube,
        namespace,
        image,
        cli_script(["SET", "metrics:1", "a"], ["SET", "metrics:2", "b"], ["SET", "metrics:3", "c"]),
        env=password_env(),
        labels=CLIENT,
    )
    assert written.split() == ["OK", "OK", "OK"], written
    url = f"http://{FULLNAME}-metrics.{namespace}.svc.cluster.local:9121/metrics"
    samples = pods.scrape_metrics(kube, namespace, url)
    redis = {k: v for k, v in samples.items() if k.startswith("redis_")}
    assert samples.get("redis_up") == "1", redis
    keys = samples.get('redis_db_keys{db="db0"}')
    print(f"FIGURE cache.metrics[helm{helm.major}]: keys written=3 reported={keys}")
    assert keys is not None and float(keys) == 3, redis
