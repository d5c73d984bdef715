"""The README describes the repository as it is: its layout names every package and
every module of the package's core and release layers."""

from __future__ import annotations

from pathlib import Path

from charthouse import paths

PACKAGE = paths.REPO_ROOT / "scripts" / "charthouse"


def layout() -> str:
    readme = (paths.REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## Layout") :]
    return section[section.index("```text") : section.index("```", section.index("```text") + 3)]


def listed(path: Path) -> str:
    """How the layout names ``path``: ``name/`` for a package, ``name.py`` for a module."""
    return f"{path.name}/" if path.is_dir() else path.name


def test_the_layout_lists_every_package_and_core_and_release_module() -> None:
    text = layout()
    packages = [p for p in PACKAGE.rglob("*") if p.is_dir() and (p / "__init__.py").is_file()]
    modules = [p for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    modules += [p for p in (PACKAGE / "release").glob("*.py") if p.name != "__init__.py"]
    missing = sorted(
        str(p.relative_to(PACKAGE)) for p in packages + modules if listed(p) not in text
    )
    assert missing == [], "add each to the README's layout with its one job"


def test_the_layout_lists_every_test_home() -> None:
    text = layout()
    homes = [
        p
        for p in (paths.REPO_ROOT / "tests").iterdir()
        if p.is_dir() and p.name != "__pycache__" and not p.name.startswith(".")  # tool caches
    ]
    assert sorted(f"tests/{p.name}/" for p in homes if f"tests/{p.name}/" not in text) == []
