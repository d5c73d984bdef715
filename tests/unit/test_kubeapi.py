"""Every Kubernetes client charthouse makes is bounded in time: against a local API
server that accepts connections and never answers (127.0.0.1), each caller fails with
an error naming what it asked, in seconds, instead of hanging."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from charthouse import kubeapi
from charthouse.cluster import gateway_crds
from charthouse.cluster.providers.existing import ExistingCluster
from charthouse.errors import CharthouseError

SHORT = (0.25, 0.25)
BOUND = 30.0  # seconds: four tries of SHORT, with room for a loaded machine


def _kubeconfig(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubeapi, "REQUEST_TIMEOUT", SHORT)


def test_the_default_bound_is_seconds_not_forever() -> None:
    connect, read = kubeapi.REQUEST_TIMEOUT
    assert 0 < connect <= read <= 60


@pytest.mark.usefixtures("short_timeout")
def test_a_client_from_a_kubeconfig_times_out_by_default(
    tmp_path: Path, silent_api_port: int
) -> None:
    from kubernetes import client
    from urllib3.exceptions import HTTPError

    api = kubeapi.connect(_kubeconfig(tmp_path, silent_api_port))
    began = time.monotonic()
    with pytest.raises(HTTPError, match="timed out"):
        client.VersionApi(api).get_code()
    assert time.monotonic() - began < BOUND


def test_a_call_may_set_its_own_bound(tmp_path: Path, silent_api_port: int) -> None:
    from kubernetes import client
    from urllib3.exceptions import HTTPError

    api = kubeapi.connect(_kubeconfig(tmp_path, silent_api_port))  # default: 10 s / 30 s
    began = time.monotonic()
    with pytest.raises(HTTPError, match=r"read timeout=0\.25"):
        client.VersionApi(api).get_code(_request_timeout=SHORT)
    assert time.monotonic() - began < BOUND


def test_a_missing_kubeconfig_is_an_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "kubeconfig"
    with pytest.raises(CharthouseError, match=str(missing)):
        kubeapi.connect(missing)


@pytest.mark.usefixtures("short_timeout")
def test_an_existing_cluster_that_never_answers_is_not_running(
    tmp_path: Path, silent_api_port: int
) -> None:
    kubeconfig = _kubeconfig(tmp_path, silent_api_port)
    began = time.monotonic()
    status = ExistingCluster(kubeconfig).status()
    assert time.monotonic() - began < BOUND
    assert not status.running
    assert status.problems and f"{kubeconfig}: cannot reach the API server" in status.problems[0]
    with pytest.raises(CharthouseError, match="cannot reach the API server"):
        ExistingCluster(kubeconfig).up()


@pytest.mark.usefixtures("short_timeout")
def test_installing_crds_into_a_cluster_that_never_answers_fails_naming_it(
    tmp_path: Path, silent_api_port: int
) -> None:
    kubeconfig = _kubeconfig(tmp_path, silent_api_port)
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gateways.gateway.networking.k8s.io"},
    }
    began = time.monotonic()
    with pytest.raises(CharthouseError, match=rf"{kubeconfig}: applying .*timed out"):
        gateway_crds.apply(kubeconfig, [crd])
    assert time.monotonic() - began < BOUND
