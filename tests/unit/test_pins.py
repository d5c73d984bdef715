"""ci/tools.yaml is the one place a version is pinned: read once, and nothing in the
code repeats a pinned version."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from charthouse import crds, paths, pins, tools
from charthouse.errors import CharthouseError

SCRIPTS = paths.REPO_ROOT / "scripts" / "charthouse"


def test_the_pin_file_is_parsed_once_and_serves_tools_and_crds() -> None:
    assert pins.read() is pins.read()
    listed = pins.section("tools")
    assert set(tools.load_pins().tools) == set(listed)
    assert {source.name for source in crds.sources()} == set(pins.section("crds"))


def test_kubernetes_version_is_the_one_shared_by_every_kubernetes_component() -> None:
    version = pins.kubernetes_version()
    assert version == tools.pin("kube-apiserver").version
    components = [t for t in tools.load_pins().tools.values() if t.package.startswith("k8s.io/")]
    assert len(components) >= 3
    assert {t.version for t in components} == {version}


def _pin_file(directory: Path, apiserver: str, scheduler: str) -> Path:
    directory.mkdir()
    path = directory / "tools.yaml"
    lines = ["tools:"] + [
        f"  {name}: {{package: k8s.io/kubernetes/cmd/{name}, version: {version}}}"
        for name, version in (("kube-apiserver", apiserver), ("kube-scheduler", scheduler))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_kubernetes_components_at_two_versions_are_refused_naming_the_field(
    tmp_path: Path,
) -> None:
    assert pins.kubernetes_version(_pin_file(tmp_path / "ok", "v1.37.2", "v1.37.2")) == "v1.37.2"
    drifted = _pin_file(tmp_path / "drifted", "v1.37.2", "v1.36.0")
    with pytest.raises(CharthouseError, match=r"tools\.kube-scheduler\.version: v1\.36\.0"):
        pins.kubernetes_version(drifted)


def test_a_broken_pin_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CharthouseError, match="cannot read pin file"):
        pins.read(tmp_path / "missing.yaml")
    bad = tmp_path / "tools.yaml"
    bad.write_text("tools: [\n")
    with pytest.raises(CharthouseError, match=rf"{bad}: invalid YAML \(line"):
        tools.load_pins(bad)
    bad.write_text("crds: [a]\n")
    with pytest.raises(CharthouseError, match=rf"{bad}: crds: expected a mapping"):
        pins.section("crds", bad)


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_pinned_version_is_repeated_in_code() -> None:
    versions = {str(t.version) for t in tools.load_pins().tools.values()}
    versions |= {str(entry["version"]) for entry in pins.section("crds").values()}
    repeats = {
        (str(path.relative_to(SCRIPTS)), literal)
        for path in sorted(SCRIPTS.rglob("*.py"))
        for literal in _string_literals(path) & versions
    }
    assert repeats == set(), "read these from charthouse.pins instead"
