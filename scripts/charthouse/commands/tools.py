"""``charthouse tools``: build, locate and list the pinned external tools."""

from __future__ import annotations

import argparse

from charthouse import paths
from charthouse.errors import ExitCode


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Tools are pinned in ci/tools.yaml and built from Go modules on first use."
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="build every pinned tool not yet built")
    install.add_argument("names", nargs="*", metavar="NAME", help="only these tools")
    install.set_defaults(func=_install)
    path = actions.add_parser("path", help="print the path of a tool, building it if needed")
    path.add_argument("name", metavar="NAME")
    path.set_defaults(func=_path)
    listing = actions.add_parser("list", help="list pins and whether each is ready")
    listing.set_defaults(func=_list)
    bindir = actions.add_parser("bin-dir", help="print the directory holding the tool links")
    bindir.set_defaults(func=_bin_dir)
    host = actions.add_parser(
        "host-packages",
        help="install the missing Debian packages of groups in ci/debian-packages.yaml",
    )
    host.add_argument("groups", nargs="+", metavar="GROUP")
    host.set_defaults(func=_host_packages)


def _install(args: argparse.Namespace) -> int:
    from charthouse import tools

    tools.install(args.names)
    return ExitCode.OK


def _path(args: argparse.Namespace) -> int:
    from charthouse import tools

    print(tools.ensure_tool(args.name))
    return ExitCode.OK


def _list(_args: argparse.Namespace) -> int:
    from charthouse import tools

    for name, tool in tools.load_pins().tools.items():
        state = (
            "built"
            if tool.built_path.is_file()
            else ("on PATH" if tool.found_marker.is_file() else "missing")
        )
        print(f"{name:24} {tool.version:12} {state:8} {tool.package}")
    return ExitCode.OK


def _bin_dir(_args: argparse.Namespace) -> int:
    print(paths.BIN_DIR)
    return ExitCode.OK


def _host_packages(args: argparse.Namespace) -> int:
    from charthouse import hostpkgs

    for group in args.groups:
        hostpkgs.ensure(group)
    return ExitCode.OK
