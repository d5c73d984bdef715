"""``charthouse schemas``: each chart's values.schema.json is its source with the shared
pieces of charts/common/schemas inlined, self-contained because helm resolves no
reference across charts; ``--check`` names every stale file and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from charthouse import cli
from charthouse.charts import all_charts
from charthouse.errors import ExitCode
from charthouse.schemabundle import (
    SCHEMA_FILE,
    SOURCE_FILE,
    SchemaSourceError,
    bundle,
    chart_schema,
)


def _write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def charts(tmp_path: Path) -> Path:
    """A charts/ tree: a library with two pieces (one using the other) and a chart."""
    root = tmp_path / "charts"
    pieces = root / "common" / "schemas"
    _write(pieces / "quantity.json", {"type": "string", "pattern": "^[0-9]+Mi$"})
    _write(
        pieces / "resources.json",
        {"type": "object", "properties": {"memory": {"$ref": "quantity.json"}}},
    )
    chart = root / "demo"
    (chart / "Chart.yaml").parent.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    _write(
        chart / SOURCE_FILE,
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "resources": {"$ref": "../common/schemas/resources.json"},
                "port": {"$ref": "#/definitions/port"},
            },
            "definitions": {"port": {"type": "integer"}},
        },
    )
    return root


def test_pieces_are_inlined_with_the_pieces_they_use(charts: Path) -> None:
    schema = bundle(charts / "demo" / SOURCE_FILE)
    assert schema["properties"]["resources"] == {"$ref": "#/definitions/common.resources"}
    assert schema["properties"]["port"] == {"$ref": "#/definitions/port"}
    assert schema["definitions"] == {
        "port": {"type": "integer"},
        "common.quantity": {"type": "string", "pattern": "^[0-9]+Mi$"},
        "common.resources": {
            "type": "object",
            "properties": {"memory": {"$ref": "#/definitions/common.quantity"}},
        },
    }
    # Nothing outside the file is referred to any more: helm can read it alone.
    assert '"$ref": "#/' in json.dumps(schema) and ".json" not in json.dumps(schema["properties"])


def test_a_reference_outside_the_pieces_is_refused_naming_file_and_field(charts: Path) -> None:
    source = charts / "demo" / SOURCE_FILE
    doc = json.loads(source.read_text())
    doc["properties"]["port"] = {"$ref": "../other/port.json"}
    _write(source, doc)
    with pytest.raises(SchemaSourceError, match=r"values\.schema\.src\.json: /properties/port"):
        bundle(source)


def test_a_missing_piece_is_named(charts: Path) -> None:
    (charts / "common" / "schemas" / "quantity.json").unlink()
    with pytest.raises(SchemaSourceError, match=r"quantity\.json: not found"):
        bundle(charts / "demo" / SOURCE_FILE)


def test_check_names_the_stale_file_and_writes_nothing(
    charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = charts / "demo" / SCHEMA_FILE
    target.write_text("{}\n")
    assert cli.main(["schemas", "--check", str(charts / "demo")]) == ExitCode.CHECK_FAILED
    assert f"{target}: stale" in capsys.readouterr().err
    assert target.read_text() == "{}\n"
    assert cli.main(["schemas", str(charts / "demo")]) == ExitCode.OK
    assert json.loads(target.read_text()) == bundle(charts / "demo" / SOURCE_FILE)
    assert cli.main(["schemas", "--check", str(charts / "demo")]) == ExitCode.OK


def test_a_broken_source_is_bad_input(charts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (charts / "demo" / SOURCE_FILE).write_text("{")
    assert cli.main(["schemas", str(charts / "demo")]) == ExitCode.BAD_INPUT
    assert "values.schema.src.json: invalid JSON" in capsys.readouterr().err
    assert not (charts / "demo" / SCHEMA_FILE).exists()


@pytest.mark.parametrize("chart", [pytest.param(c, id=c.name) for c in all_charts()])
def test_every_chart_schema_is_generated_and_current(chart: Any) -> None:
    schema = chart_schema(chart.path)
    assert schema is not None, f"{chart.path}: no {SOURCE_FILE}"
    assert not schema.stale, f"run: charthouse schemas {chart.name}"
