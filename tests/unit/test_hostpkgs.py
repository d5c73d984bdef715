"""The host package list: parsed with errors naming the file and field, and checked for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from charthouse import hostpkgs
from charthouse.errors import CharthouseError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "debian-packages.yaml"
    path.write_text(text)
    return path


def test_repo_file_parses_and_names_why_for_every_package() -> None:
    groups = hostpkgs.load_groups()
    assert {"node", "images", "release"} <= set(groups)
    for packages in groups.values():
        for package in packages:
            assert package.why.strip(), package.name


def test_a_package_that_does_not_exist_is_reported_missing(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "groups:\n  probe:\n    charthouse-no-such-package:\n"
        "      why: probe\n      commands: [charthouse-no-such-command]\n"
        "    coreutils:\n      why: always there\n      commands: [ls]\n",
    )
    assert [p.name for p in hostpkgs.missing("probe", path)] == ["charthouse-no-such-package"]


def test_installed_group_needs_nothing(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "groups:\n  probe:\n    coreutils:\n      why: x\n      commands: [ls]\n"
    )
    assert hostpkgs.ensure("probe", path) == []


def test_not_root_names_the_command_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # as root it would run apt-get
    path = _write(
        tmp_path, "groups:\n  probe:\n    charthouse-no-such-package:\n      why: probe\n"
    )
    with pytest.raises(CharthouseError, match="apt-get install -y charthouse-no-such-package"):
        hostpkgs.ensure("probe", path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("groups: []\n", "groups"),
        ("groups:\n  node: [iptables]\n", "groups.node"),
        ("groups:\n  node:\n    iptables: {}\n", "groups.node.iptables.why"),
        ("groups:\n  node:\n    iptables: {why: x, commands: iptables}\n", "commands"),
    ],
)
def test_bad_file_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CharthouseError, match=str(path)) as raised:
        hostpkgs.load_groups(path)
    assert field in str(raised.value)


def test_unknown_group_is_named() -> None:
    with pytest.raises(CharthouseError, match="no group named 'nodes'"):
        hostpkgs.missing("nodes")
