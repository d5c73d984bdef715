"""Provenance files written by charthouse verify with the real `helm verify` (3 and 4)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from charthouse.chartset import ChartSet
from charthouse.errors import CharthouseError
from charthouse.release import package, sign
from support.chartrepo import ChartRepo, GpgKey, helm_env


@pytest.fixture
def archive(chart_repo: ChartRepo, helm4: Path, tmp_path: Path) -> Path:
    built = package.package_all(
        helm4,
        ChartSet.discover(chart_repo.charts),
        {"app": "0.1.0"},
        chart_repo.charts,
        tmp_path / "ws",
        tmp_path / "out",
    )
    return built["app"].path


def verify(
    helm: Path, archive: Path, keyring: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), "verify", "--keyring", str(keyring), str(archive)],
        capture_output=True,
        text=True,
        env=helm_env(home),
        check=False,
    )


def test_helm_verify_accepts_our_provenance(
    archive: Path, gpg_key: GpgKey, helm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_key.home))
    prov = sign.sign(archive, gpg_key.uid)
    assert prov == archive.with_name("app-0.1.0.tgz.prov")
    result = verify(helm, archive, gpg_key.public_keyring, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Signed by: Charthouse Test" in result.stdout


def test_a_tampered_archive_fails_verification(
    archive: Path, gpg_key: GpgKey, helm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_key.home))
    sign.sign(archive, gpg_key.uid)
    archive.write_bytes(package.normalize_archive(archive.read_bytes(), epoch=0))
    result = verify(helm, archive, gpg_key.public_keyring, tmp_path)
    assert result.returncode != 0
    assert "sha256 sum does not match" in result.stderr


def test_an_unknown_key_is_a_clear_error(
    archive: Path, gpg_key: GpgKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_key.home))
    refused = r"--sign nobody@example\.invalid: gpg could not sign"
    with pytest.raises(CharthouseError, match=refused):
        sign.sign(archive, "nobody@example.invalid")
    assert not archive.with_name(archive.name + ".prov").exists()
