"""``charthouse docs``: regenerate (or ``--check``) each chart's README values table."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from charthouse.commands import options
from charthouse.errors import CharthouseError, ExitCode
from charthouse.paths import shown as _shown

if TYPE_CHECKING:
    from charthouse.chartdocs import ChartDocs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Rewrite the values table between the charthouse:values markers of each "
        "chart's README.md from the '# --' comments in its values.yaml. With --check, "
        "write nothing and exit 1 naming every stale README and undocumented value; "
        "without, an undocumented value also exits 1 and no README is written."
    )
    options.charts(parser)
    options.check(parser, help="only report stale READMEs and undocumented values (exit 1)")
    parser.set_defaults(func=_run)


def _problems(name: str, doc: ChartDocs, *, check: bool) -> list[str]:
    found = [
        f"{_shown(doc.values_path)}:{key.line}: {key.path}: "
        "undocumented value (add a '# -- description' comment above it)"
        for key in doc.undocumented
    ]
    if check and doc.stale:
        found.append(
            f"{_shown(doc.readme_path)}: values table is stale (run: charthouse docs {name})"
        )
    return found


def _run(args: argparse.Namespace) -> int:
    from charthouse import atomicfile
    from charthouse.chartdocs import chart_docs
    from charthouse.charts import all_charts, load_chart

    charts = [load_chart(c) for c in args.charts] if args.charts else all_charts()
    # Look at every chart before writing anything: one bad chart (a missing README,
    # an undocumented value) stops the run with no README half-updated, and
    # --check reports every problem of every chart in one go.
    docs: list[ChartDocs] = []
    unreadable: list[str] = []  # bad input: nothing to check
    problems: list[str] = []  # what the check found
    for chart in charts:
        try:
            doc = chart_docs(chart.path)
        except CharthouseError as exc:
            unreadable.append(_shown(exc))
            continue
        docs.append(doc)
        problems += _problems(chart.name, doc, check=args.check)
    for problem in unreadable + problems:
        print(f"charthouse: {problem}", file=sys.stderr)
    if unreadable:
        return ExitCode.BAD_INPUT
    if problems:
        return ExitCode.CHECK_FAILED
    if args.check:
        print(f"docs: {len(docs)} README(s) current")
        return ExitCode.OK
    for doc in docs:
        if doc.stale:
            atomicfile.write(doc.readme_path, doc.expected)
            print(f"docs: updated {_shown(doc.readme_path)}")
        else:
            print(f"docs: {_shown(doc.readme_path)} is current")
    return ExitCode.OK
