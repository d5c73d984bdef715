"""``charthouse judge``: independent linters over the rendered charts, one line each."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from charthouse.commands import options
from charthouse.errors import ExitCode

JUDGE_NAMES = ("kubeconform", "kube-score", "checkov", "pluto", "ah lint", "actionlint")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Render every chart's defaults and ci/*-values.yaml once, then run kubeconform "
        "-strict, kube-score, checkov, pluto, ah lint and actionlint in parallel (results "
        "cached by their inputs). Findings rejected in ci/judges.yaml, each with its "
        "reason, are counted but pass; any other finding, or a rejection that no longer "
        "matches anything, exits 1."
    )
    options.charts(parser)
    parser.add_argument(
        "--judge",
        dest="judges",
        action="append",
        choices=JUDGE_NAMES,
        default=[],
        help="run only this judge (repeatable)",
    )
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        help="the rejected-checks file (default ci/judges.yaml)",
    )
    parser.add_argument("--no-cache", action="store_true", help="re-run every judge")
    parser.add_argument(
        "--all-findings", action="store_true", help="also list the rejected findings"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from charthouse.charts import all_charts, load_chart
    from charthouse.judges import inputs as judge_inputs
    from charthouse.judges import policy
    from charthouse.judges.run import JUDGES, names, run_all

    everything = all_charts(include_library=True)
    charts = [load_chart(c) for c in args.charts] if args.charts else everything
    judges = [j for j in JUDGES if not args.judges or j.NAME in args.judges]
    policy_file = args.policy or policy.POLICY_FILE
    rules = policy.load(policy_file, judges=names())
    with tempfile.TemporaryDirectory(prefix="charthouse-judge-") as tmp:
        inputs = judge_inputs.build(charts, Path(tmp), all_charts=charts)
        runs = run_all(inputs, judges, use_cache=not args.no_cache)
    findings = [f for r in runs for f in r.findings]
    verdict = policy.judge(findings, rules, judges_run=[r.name for r in runs])
    rejected_by = {rule.index: rule for rule in rules}
    print(
        f"{len(inputs.scenarios)} rendered scenarios of {len(charts)} charts; "
        f"rejected checks: {policy_file}"
    )
    print(f"{'judge':12} {'findings':>8} {'rejected':>8} {'open':>5}")
    for run in runs:
        mine = [f for f in run.findings if f.judge == run.name]
        still_open = [f for f in verdict.open if f.judge == run.name]
        note = "cached" if run.cached else f"{run.seconds:.1f}s"
        print(
            f"{run.name:12} {len(mine):8} {len(mine) - len(still_open):8} "
            f"{len(still_open):5}   {note}",
            flush=True,
        )
    if args.all_findings:
        for index, found in verdict.rejected.items():
            for finding in found:
                print(f"  rejected ({rejected_by[index].describe()}): {finding.describe()}")
    for finding in verdict.open:
        print(f"  open: {finding.describe()}", file=sys.stderr)
    for rule in verdict.stale:
        print(f"  stale: {rule.describe()} matches no finding: remove it", file=sys.stderr)
    return ExitCode.CHECK_FAILED if verdict.open or verdict.stale else ExitCode.OK
