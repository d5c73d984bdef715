"""``charthouse serve``: serve a chart repository directory over HTTP."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from charthouse import paths
from charthouse.errors import CharthouseError, ExitCode


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Read-only GET/HEAD server for index.yaml, .tgz and .prov files."
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=paths.REPO_DIR,
        metavar="DIR",
        help="repository directory (default: dist/repo)",
    )
    parser.add_argument("--port", type=int, default=8879, help="TCP port (0 picks a free one)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--auth-file",
        type=Path,
        metavar="F",
        help="require basic auth; lines user:pbkdf2_sha256$...",
    )
    parser.add_argument(
        "--hash-password",
        metavar="USER",
        help="read a password and print an auth-file line for USER, then exit",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from charthouse.serve import hash_password, serve

    if args.hash_password:
        password = getpass.getpass(f"password for {args.hash_password}: ")
        if not password:
            raise CharthouseError("--hash-password: empty password")
        print(f"{args.hash_password}:{hash_password(password)}")
        return ExitCode.OK
    if not 0 <= args.port <= 65535:
        raise CharthouseError(f"--port: {args.port} is not a TCP port")
    return serve(args.directory.resolve(), bind=args.bind, port=args.port, auth_file=args.auth_file)
