"""``charthouse cluster up|down|status|kubeconfig|gateway-crds``: the test cluster."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from charthouse.cluster import provider
from charthouse.cluster.providers.base import Provider
from charthouse.errors import CharthouseError, ExitCode


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = provider.__doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--provider",
        choices=provider.PROVIDERS,
        default="auto",
        help="where the cluster comes from (default: auto)",
    )
    common.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="use this existing cluster (implies --provider existing under auto)",
    )
    common.add_argument(
        "--name",
        default=provider.DEFAULT_NAME,
        help="cluster name; state lives in $CHARTHOUSE_HOME/cluster/<name>",
    )
    common.add_argument(
        "--nodes",
        choices=("auto", "real", "kwok"),
        default="auto",
        help="embedded provider: real containers (default where Linux and root allow) or "
        "kwok's simulated nodes (scale scenarios; nothing runs)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", parents=[common], help="start the cluster (reused if running)")
    up.add_argument(
        "--gateway-crds",
        action="store_true",
        help="also install the Gateway API CRDs pinned in ci/tools.yaml",
    )
    up.set_defaults(func=_up)
    actions.add_parser(
        "down", parents=[common], help="stop it; nothing keeps running"
    ).set_defaults(func=_down)
    actions.add_parser(
        "status", parents=[common], help="show components and problems"
    ).set_defaults(func=_status)
    actions.add_parser(
        "kubeconfig", parents=[common], help="print the kubeconfig path"
    ).set_defaults(func=_kubeconfig)
    actions.add_parser(
        "gateway-crds",
        parents=[common],
        help="install the pinned Gateway API CRDs into the running cluster",
    ).set_defaults(func=_gateway_crds)


def _get(args: argparse.Namespace) -> Provider:
    return provider.get(args.provider, kubeconfig=args.kubeconfig, name=args.name, nodes=args.nodes)


def _up(args: argparse.Namespace) -> int:
    cluster = _get(args)
    started = time.monotonic()
    kubeconfig = cluster.up()
    print(f"cluster up ({cluster.name}) in {time.monotonic() - started:.1f}s", file=sys.stderr)
    if args.gateway_crds:
        from charthouse.cluster import gateway_crds

        print(
            f"installed {len(gateway_crds.install(kubeconfig))} Gateway API objects",
            file=sys.stderr,
        )
    print(f"export KUBECONFIG={kubeconfig}")
    return ExitCode.OK


def _down(args: argparse.Namespace) -> int:
    cluster = _get(args)
    cluster.down()
    print(f"cluster down ({cluster.name})", file=sys.stderr)
    return ExitCode.OK


def _status(args: argparse.Namespace) -> int:
    status = _get(args).status()
    print(status.render())
    return ExitCode.OK if status.running else ExitCode.CHECK_FAILED


def _kubeconfig(args: argparse.Namespace) -> int:
    cluster = _get(args)
    path = cluster.kubeconfig()
    if not path.is_file():
        raise CharthouseError(f"{path}: no kubeconfig yet; run `charthouse cluster up` first")
    print(path)
    return ExitCode.OK


def _gateway_crds(args: argparse.Namespace) -> int:
    from charthouse.cluster import gateway_crds

    for name in gateway_crds.install(_get(args).kubeconfig()):
        print(name)
    return ExitCode.OK
