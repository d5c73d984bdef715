"""``charthouse validate``: lint, render, strictly validate and policy-check charts."""

from __future__ import annotations

import argparse
import sys

from charthouse.commands import options
from charthouse.errors import ExitCode
from charthouse.render_choices import HELM_MAJORS, SUPPORTED_KUBE_VERSIONS, normalise_kube_version


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "For each chart: helm lint --strict; render the defaults and every "
        "ci/*-values.yaml (plus any -f files) with each helm major and Kubernetes "
        "version; validate every object strictly against that version's schema; "
        "check every pod template against the security policy. Exits 1 on any failure."
    )
    options.charts(parser)
    options.values_files(parser, help="also validate this values file as a scenario (repeatable)")
    options.kube_versions(parser)
    options.helm_majors(parser)
    options.engine(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from charthouse.charts import all_charts, load_chart
    from charthouse.validate import validate_chart

    charts = [load_chart(c) for c in args.charts] if args.charts else all_charts()
    versions = [normalise_kube_version(v) for v in args.kube_versions] or list(
        SUPPORTED_KUBE_VERSIONS
    )
    majors = args.helm_majors or list(HELM_MAJORS)
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
    return ExitCode.CHECK_FAILED if failures else ExitCode.OK
