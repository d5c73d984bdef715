"""Which provider ``auto`` picks, and why an ambient KUBECONFIG never counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charthouse.cluster import provider
from charthouse.errors import CharthouseError


@pytest.fixture(autouse=True)
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "docker_usable", lambda: False)
    monkeypatch.delenv("CHARTHOUSE_KUBECONFIG", raising=False)


def test_auto_is_embedded_without_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "prod-cluster"))  # must be ignored
    assert provider.choose("auto", kubeconfig=None, directory=tmp_path) == "embedded"


def test_auto_is_kind_with_docker_and_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "docker_usable", lambda: True)
    monkeypatch.setattr(provider, "kind_available", lambda: True)
    assert provider.choose("auto", kubeconfig=None, directory=tmp_path) == "kind"


def test_kind_built_from_the_pin_counts_as_available(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("charthouse.paths.BIN_DIR", tmp_path)
    assert not provider.kind_available()
    kind = tmp_path / "kind"
    kind.write_text("#!/bin/sh\n")
    kind.chmod(0o755)
    assert provider.kind_available()


def test_explicit_kubeconfig_means_existing(tmp_path: Path) -> None:
    assert provider.choose("auto", kubeconfig=tmp_path / "k", directory=tmp_path) == "existing"


def test_auto_sticks_to_the_provider_that_started_the_cluster(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"provider": "kind"}))
    assert provider.choose("auto", kubeconfig=None, directory=tmp_path) == "kind"


def test_unknown_provider_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CharthouseError, match="--provider: unknown provider 'minikube'"):
        provider.choose("minikube", kubeconfig=None, directory=tmp_path)


def test_existing_without_kubeconfig_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(CharthouseError, match="give --kubeconfig PATH or set KUBECONFIG"):
        provider.get("existing")
