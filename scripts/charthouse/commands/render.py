"""``charthouse render``: print a chart's manifests, as ``helm template`` would."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from charthouse import render as rendering
from charthouse.charts import load_chart
from charthouse.values import schema_errors, sources


def add_values_arguments(
    parser: argparse.ArgumentParser,
    *,
    files_help: str = "values file (repeatable; later wins)",
    with_set: bool = True,
) -> None:
    """The values flags shared by every command that renders."""
    parser.add_argument(
        "-f",
        "--values",
        dest="values_files",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help=files_help,
    )
    if not with_set:
        return
    parser.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a value, as helm --set (repeatable)",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "render",
        help="print a chart's rendered manifests",
        description="Render CHART (a path or a name under charts/) to Kubernetes manifests.",
    )
    parser.add_argument("chart", metavar="CHART")
    add_values_arguments(parser)
    parser.add_argument(
        "--kube-version",
        default=rendering.DEFAULT_KUBE_VERSION,
        help="Kubernetes version for .Capabilities (default %(default)s)",
    )
    parser.add_argument(
        "--api-versions",
        action="append",
        default=[],
        metavar="GROUP/VERSION",
        help="extra API versions for .Capabilities.APIVersions (repeatable)",
    )
    parser.add_argument(
        "--helm",
        type=int,
        choices=(3, 4),
        default=4,
        help="helm major version of the reference renderer (default 4)",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "binary", "sdk"),
        default="auto",
        help="auto: in-process SDK for helm 4 when available, else the binary",
    )
    parser.add_argument("--release", default="release", help="release name (default release)")
    parser.add_argument("-n", "--namespace", default="default")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    chart = load_chart(args.chart)
    problems = schema_errors(chart, sources(args.values_files, None, args.set_values))
    if problems:
        for problem in problems:
            print(f"charthouse: {problem}", file=sys.stderr)
        return 2
    text = rendering.render(
        chart.path,
        values_files=args.values_files,
        set_values=args.set_values,
        release=args.release,
        namespace=args.namespace,
        kube_version=args.kube_version,
        api_versions=args.api_versions,
        engine=args.engine,
        helm_major=args.helm,
    )
    sys.stdout.write(text)
    return 0
