"""The flags several commands share, each spelled once (pip's ``cmdoptions``).

A command adds the ones it takes; the choices come from the modules that own them
(:mod:`charthouse.render_choices`, :mod:`charthouse.release.targets`), which import
nothing heavy, so building the parser stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from charthouse.render_choices import (
    DEFAULT_HELM_MAJOR,
    DEFAULT_KUBE_VERSION,
    ENGINES,
    HELM_MAJORS,
    SUPPORTED_KUBE_VERSIONS,
)

Parser = argparse.ArgumentParser


def resolved_path(text: str) -> Path:
    """A path argument, ``~`` expanded and made absolute."""
    return Path(text).expanduser().resolve()


def charts(parser: Parser) -> None:
    """Zero or more charts, by path or by name under ``charts/``."""
    parser.add_argument(
        "charts",
        nargs="*",
        metavar="CHART",
        help="chart paths or names (default: every application chart)",
    )


def check(parser: Parser, *, help: str) -> None:
    """``--check``: write nothing, report what a run would change (exit CHECK_FAILED)."""
    parser.add_argument("--check", action="store_true", help=help)


def values_files(parser: Parser, *, help: str = "values file (repeatable; later wins)") -> None:
    parser.add_argument(
        "-f",
        "--values",
        dest="values_files",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help=help,
    )


def set_values(parser: Parser) -> None:
    parser.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a value, as helm --set (repeatable)",
    )


def kube_version(parser: Parser) -> None:
    """One Kubernetes version, for ``.Capabilities``."""
    parser.add_argument(
        "--kube-version",
        default=DEFAULT_KUBE_VERSION,
        metavar="X.Y",
        help="Kubernetes version for .Capabilities (default %(default)s)",
    )


def kube_versions(parser: Parser) -> None:
    """Repeatable: the versions to check against (default: all supported)."""
    first, last = (v.rsplit(".", 1)[0] for v in (SUPPORTED_KUBE_VERSIONS[0], DEFAULT_KUBE_VERSION))
    parser.add_argument(
        "--kube-version",
        dest="kube_versions",
        action="append",
        default=[],
        metavar="X.Y",
        help=f"Kubernetes version (repeatable; default: {first} to {last})",
    )


def helm_major(
    parser: Parser, *, help: str = "helm major version of the reference renderer"
) -> None:
    """One helm major: the reference renderer (or, ``help`` says, the one that upgrades)."""
    parser.add_argument(
        "--helm",
        type=int,
        choices=HELM_MAJORS,
        default=DEFAULT_HELM_MAJOR,
        help=f"{help} (default %(default)s)",
    )


def helm_majors(parser: Parser) -> None:
    """Repeatable: the helm majors to check with (default: all)."""
    parser.add_argument(
        "--helm",
        dest="helm_majors",
        action="append",
        type=int,
        choices=HELM_MAJORS,
        default=[],
        help=f"helm major (repeatable; default: {' and '.join(map(str, HELM_MAJORS))})",
    )


def engine(parser: Parser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto: the in-process SDK for helm 4 when it loads, else the helm binary",
    )
