"""``charthouse render``: print a chart's manifests, as ``helm template`` would."""

from __future__ import annotations

import argparse
import sys

from charthouse.commands import options
from charthouse.errors import ExitCode


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Render CHART (a path or a name under charts/) to Kubernetes manifests."
    parser.add_argument("chart", metavar="CHART")
    options.values_files(parser)
    options.set_values(parser)
    options.kube_version(parser)
    parser.add_argument(
        "--api-versions",
        action="append",
        default=[],
        metavar="GROUP/VERSION",
        help="extra API versions for .Capabilities.APIVersions (repeatable)",
    )
    options.helm_major(parser)
    options.engine(parser)
    parser.add_argument("--release", default="release", help="release name (default release)")
    parser.add_argument("-n", "--namespace", default="default")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from charthouse import render as rendering
    from charthouse.charts import load_chart
    from charthouse.values import schema_errors, sources

    chart = load_chart(args.chart)
    problems = schema_errors(chart, sources(args.values_files, None, args.set_values))
    if problems:
        for problem in problems:
            print(f"charthouse: {problem}", file=sys.stderr)
        return ExitCode.BAD_INPUT
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
    return ExitCode.OK
