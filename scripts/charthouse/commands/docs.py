"""``charthouse docs``: regenerate (or ``--check``) each chart's README values table."""

from __future__ import annotations

import argparse
import sys

from charthouse import atomicfile
from charthouse.chartdocs import ChartDocs, chart_docs
from charthouse.charts import all_charts, load_chart
from charthouse.errors import CharthouseError
from charthouse.paths import REPO_ROOT


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "docs",
        help="generate the README values tables from values.yaml comments",
        description=(
            "Rewrite the values table between the charthouse:values markers of each "
            "chart's README.md from the '# --' comments in its values.yaml. With --check, "
            "write nothing and exit 1 naming every stale README and undocumented value."
        ),
    )
    parser.add_argument(
        "charts",
        nargs="*",
        metavar="CHART",
        help="chart paths or names (default: every application chart)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report stale READMEs and undocumented values (exit 1)",
    )
    parser.set_defaults(func=_run)


def _shown(path: object) -> str:
    text = str(path)
    root = f"{REPO_ROOT}/"
    return text.removeprefix(root)


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
    charts = [load_chart(c) for c in args.charts] if args.charts else all_charts()
    # Look at every chart before writing anything: one bad chart (a missing README,
    # an undocumented value) stops the run with no README half-updated, and
    # --check reports every problem of every chart in one go.
    docs: list[ChartDocs] = []
    problems: list[str] = []
    for chart in charts:
        try:
            doc = chart_docs(chart.path)
        except CharthouseError as exc:
            problems.append(_shown(exc))
            continue
        docs.append(doc)
        problems += _problems(chart.name, doc, check=args.check)
    for problem in problems:
        print(f"charthouse: {problem}", file=sys.stderr)
    if args.check:
        if not problems:
            print(f"docs: {len(docs)} README(s) current")
        return 1 if problems else 0
    if problems:
        return 2
    for doc in docs:
        if doc.stale:
            atomicfile.write(doc.readme_path, doc.expected)
            print(f"docs: updated {_shown(doc.readme_path)}")
        else:
            print(f"docs: {_shown(doc.readme_path)} is current")
    return 0
