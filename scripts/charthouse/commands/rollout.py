"""``charthouse rollout start|promote|abort|status RELEASE -n NS``: gated blue-green and
canary rollouts of the app chart, one helm revision per step (see charthouse.rollout)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from charthouse.commands import options
from charthouse.errors import ExitCode

ACTIONS = {
    "start": "roll the version in image.tag out (or resume the rollout in progress)",
    "promote": "go on with the rollout in progress (past a pause, or after a stop)",
    "abort": "roll the rollout in progress back; the previous version serves again",
    "status": "show the active colour or weight, the revision and the last gate",
}
EPILOG = """exit codes:
  0  promoted (abort: the previous version serves again; status: shown)
  2  bad input: nothing was changed
  3  could not finish a step: run the command again to resume
  4  aborted: the new version failed a gate (or abort was asked) and was rolled back
  5  paused: waiting for `charthouse rollout promote`
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, summary in ACTIONS.items():
        sub = actions.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("release", metavar="RELEASE")
        sub.add_argument("-n", "--namespace", required=True, help="the release's namespace")
        sub.add_argument("--output", choices=("text", "json"), default="text")
        options.helm_major(sub, help="helm major that makes the release's revisions")
        sub.add_argument("--kubeconfig", type=Path, default=None, help="default: $KUBECONFIG")
        if name in ("start", "promote"):
            sub.add_argument(
                "--chart",
                default="",
                help="chart reference for the upgrades (start default: this checkout's "
                "charts/app; promote default: the rollout's)",
            )
            sub.add_argument("--chart-version", default="", help="chart version (helm --version)")
        if name == "start":
            options.values_files(sub, help="values file (repeatable; later wins), as helm upgrade")
            options.set_values(sub)
            sub.add_argument(
                "--reuse-values",
                action="store_true",
                help="merge the given values over the release's, as helm upgrade --reuse-values",
            )
        if name == "abort":
            sub.add_argument("--reason", default="", help="why (kept in the rollout record)")
        sub.set_defaults(func=_run)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # CI cancels with SIGTERM: stop as cleanly as on Ctrl-C


def _run(args: argparse.Namespace) -> int:
    from charthouse.rollout import control, report
    from charthouse.rollout.outcome import exit_code

    opts = control.Options(
        release=args.release,
        namespace=args.namespace,
        chart=getattr(args, "chart", ""),
        chart_version=getattr(args, "chart_version", ""),
        values_files=tuple(getattr(args, "values_files", ())),
        set_values=tuple(getattr(args, "set_values", ())),
        reuse_values=getattr(args, "reuse_values", False),
        helm_major=args.helm,
        kubeconfig=args.kubeconfig,
        reason=getattr(args, "reason", ""),
    )
    progress = report.TextProgress()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if args.action == "status":
            result = control.status(opts)
        else:
            result = getattr(control, args.action)(opts, progress)
    except KeyboardInterrupt:
        print("charthouse: interrupted; run the command again to resume", file=sys.stderr)
        return ExitCode.INTERRUPTED
    print(report.render(result, args.output))
    if args.action == "status":
        return ExitCode.OK
    return exit_code(result.outcome, command=args.action)
