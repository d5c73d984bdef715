"""The ``charthouse`` command line: a thin argparse shell over the command modules.

Every command is listed from :data:`charthouse.commands.COMMANDS`; only the one
being run is imported and configured. A :class:`CharthouseError` becomes one
``charthouse: ...`` line on stderr and its exit code (:class:`ExitCode`); nothing
else is caught.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import charthouse
from charthouse import __version__
from charthouse.commands import COMMANDS
from charthouse.errors import CharthouseError, ExitCode


class _Parser(argparse.ArgumentParser):
    """Bad usage exits with BAD_INPUT and one clear line after the usage."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.BAD_INPUT, f"charthouse: {message}\n")


def _command_name(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv``: the first word that is not an option (the top-level
    options, ``--help`` and ``--version``, take no value)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the arguments of the command ``argv`` names (only that one)."""
    summary = (charthouse.__doc__ or "").strip().splitlines()[0]
    parser = _Parser(prog="charthouse", description=summary or None)
    parser.add_argument("--version", action="version", version=f"charthouse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    chosen = _command_name(argv)
    for name, info in COMMANDS.items():
        sub = subparsers.add_parser(name, help=info.summary, description=info.summary)
        if name == chosen:
            importlib.import_module(info.module).configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    try:
        code: int = args.func(args)
    except CharthouseError as exc:
        print(f"charthouse: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("charthouse: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `charthouse ... | head`: the reader is gone; say nothing more, like other CLIs.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    return code
