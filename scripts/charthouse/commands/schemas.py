"""``charthouse schemas``: write (or ``--check``) each chart's self-contained values schema."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from charthouse.commands import options
from charthouse.errors import CharthouseError, ExitCode
from charthouse.paths import shown as _shown

if TYPE_CHECKING:
    from charthouse.schemabundle import ChartSchema


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write each chart's values.schema.json from its values.schema.src.json, with every "
        "shared piece of charts/common/schemas it refers to copied in (helm resolves no "
        "reference across charts). With --check, write nothing and exit 1 naming every "
        "stale values.schema.json."
    )
    options.charts(parser)
    options.check(parser, help="only report stale values.schema.json files (exit 1)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from charthouse import atomicfile
    from charthouse.charts import all_charts, load_chart
    from charthouse.schemabundle import SOURCE_FILE, chart_schema

    charts = [load_chart(c) for c in args.charts] if args.charts else all_charts()
    # Every chart is bundled before anything is written: a broken source or piece
    # stops the run with no schema half-updated, and each problem is named at once.
    schemas: list[ChartSchema] = []
    unreadable: list[str] = []
    for chart in charts:
        try:
            schema = chart_schema(chart.path)
        except CharthouseError as exc:
            unreadable.append(_shown(exc))
            continue
        if schema is None:
            if args.charts:
                unreadable.append(f"{_shown(chart.path)}: no {SOURCE_FILE} to generate from")
            continue
        schemas.append(schema)
    for problem in unreadable:
        print(f"charthouse: {problem}", file=sys.stderr)
    if unreadable:
        return ExitCode.BAD_INPUT
    if args.check:
        stale = [s for s in schemas if s.stale]
        for schema in stale:
            print(
                f"charthouse: {_shown(schema.schema_path)}: stale against "
                f"{_shown(schema.source_path)} and charts/common/schemas "
                f"(run: charthouse schemas {schema.schema_path.parent.name})",
                file=sys.stderr,
            )
        if stale:
            return ExitCode.CHECK_FAILED
        print(f"schemas: {len(schemas)} values.schema.json file(s) current")
        return ExitCode.OK
    for schema in schemas:
        if schema.stale:
            atomicfile.write(schema.schema_path, schema.expected)
            print(f"schemas: updated {_shown(schema.schema_path)}")
        else:
            print(f"schemas: {_shown(schema.schema_path)} is current")
    return ExitCode.OK
