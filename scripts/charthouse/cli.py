"""The ``charthouse`` command line: a thin argparse shell over the command modules.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds
its subcommand and sets ``func(args) -> int``. A :class:`CharthouseError` becomes
one ``charthouse: ...`` line on stderr and its exit code; nothing else is caught.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from charthouse import __version__
from charthouse.errors import CharthouseError

COMMAND_MODULES: tuple[str, ...] = (
    "charthouse.commands.tools",
    "charthouse.commands.cluster",
    "charthouse.commands.images",
    "charthouse.commands.render",
    "charthouse.commands.validate",
    "charthouse.commands.release",
    "charthouse.commands.serve",
    "charthouse.commands.docs",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; keep its message to one clear line."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"charthouse: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="charthouse", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"charthouse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CharthouseError as exc:
        print(f"charthouse: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("charthouse: interrupted", file=sys.stderr)
        return 130
    return code
