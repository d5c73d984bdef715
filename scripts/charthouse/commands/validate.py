"""``charthouse validate``: lint, render, strictly validate and policy-check charts."""

from __future__ import annotations

import argparse
import sys

from charthouse import render as rendering
from charthouse.charts import all_charts, load_chart
from charthouse.commands.render import add_values_arguments
from charthouse.validate import validate_chart


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="lint, render and strictly validate charts",
        description=(
            "For each chart: helm lint --strict; render the defaults and every "
            "ci/*-values.yaml (plus any -f files) with each helm major and Kubernetes "
            "version; validate every object strictly against that version's schema; "
            "check every pod template against the security policy. Exits 1 on any failure."
        ),
    )
    parser.add_argument(
        "charts",
        nargs="*",
        metavar="CHART",
        help="chart paths or names (default: every application chart)",
    )
    add_values_arguments(
        parser,
        files_help="also validate this values file as a scenario (repeatable)",
        with_set=False,
    )
    parser.add_argument(
        "--kube-version",
        dest="kube_versions",
        action="append",
        default=[],
        metavar="X.Y",
        help="Kubernetes version(s) (default: 1.31 to 1.37)",
    )
    parser.add_argument(
        "--helm",
        dest="helm_majors",
        action="append",
        type=int,
        choices=(3, 4),
        default=[],
        help="helm major(s) (default: 3 and 4)",
    )
    parser.add_argument("--engine", choices=("auto", "binary", "sdk"), default="auto")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    charts = [load_chart(c) for c in args.charts] if args.charts else all_charts()
    versions = [rendering.normalise_kube_version(v) for v in args.kube_versions] or list(
        rendering.SUPPORTED_KUBE_VERSIONS
    )
    majors = args.helm_majors or [3, 4]
    totals = {"checks": 0, "failed": 0, "renders": 0}
    failures: list[str] = []
    for chart in charts:
        for result in validate_chart(
            chart,
            kube_versions=versions,
            helm_majors=majors,
            extra_values=args.values_files,
            engine=args.engine,
        ):
            totals["checks"] += 1
            totals["renders"] += result.renders
            status = "ok  " if result.ok else "FAIL"
            detail = f"{result.renders} renders, {result.objects} objects" if result.renders else ""
            print(
                f"{status} {chart.name:10} {result.scenario:40} {detail:28} {result.seconds:6.2f}s",
                flush=True,
            )
            if not result.ok:
                totals["failed"] += 1
                failures += [f"{chart.name} {result.scenario}: {f}" for f in result.failures]
    print(
        f"\n{len(charts)} charts, {totals['checks']} checks, {totals['renders']} renders "
        f"(helm {'+'.join(map(str, majors))} x k8s {versions[0][:-2]}..{versions[-1][:-2]}): "
        f"{totals['failed']} failed"
    )
    for failure in failures:
        print(f"  {failure}", file=sys.stderr)
    return 1 if failures else 0
