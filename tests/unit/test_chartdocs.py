"""README values tables generated from values.yaml comments (charthouse docs)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from charthouse.chartdocs import (
    END_MARKER,
    START_MARKER,
    ValueRow,
    chart_docs,
    parse_values,
    render_table,
    replace_region,
)
from charthouse.cli import main
from charthouse.errors import CharthouseError, ExitCode

VALUES = textwrap.dedent(
    """\
    # A section comment, separated by a blank line: it documents nothing.

    # -- Number of pods.
    replicaCount: 2
    image:
      # -- Image repository.
      repository: traefik/whoami
      # -- Image tag;
      # never `latest`.
      tag: v1.11.0
    # -- Container resources.
    # @default -- small requests, 128Mi limit
    resources:
      requests:
        cpu: 50m
    # -- Free-form labels.
    podLabels: {}
    # -- Nullable port | number.
    nodePort: null
    """
)


def test_rows_follow_values_order_with_types_defaults_and_descriptions() -> None:
    doc = parse_values(VALUES)
    assert doc.undocumented == ()
    assert doc.rows == (
        ValueRow("replicaCount", "int", "2", "Number of pods."),
        ValueRow("image.repository", "string", '"traefik/whoami"', "Image repository."),
        ValueRow("image.tag", "string", '"v1.11.0"', "Image tag; never `latest`."),
        ValueRow("resources", "object", "small requests, 128Mi limit", "Container resources."),
        ValueRow("podLabels", "object", "{}", "Free-form labels."),
        ValueRow("nodePort", "null", "null", "Nullable port | number."),
    )


def test_schema_refines_the_type_column() -> None:
    schema = {
        "properties": {
            "nodePort": {"oneOf": [{"type": "null"}, {"type": "integer"}]},
            "image": {"properties": {"tag": {"type": "string"}}},
        }
    }
    rows = {row.key: row for row in parse_values(VALUES, schema=schema).rows}
    assert rows["nodePort"].type == "null | int"
    assert rows["image.tag"].type == "string"


def test_undocumented_keys_are_reported_with_path_and_line() -> None:
    text = textwrap.dedent(
        """\
        # -- Documented.
        a: 1
        probes:
          liveness:
            # -- Documented.
            path: /live
            port: http
        b: 2
        """
    )
    doc = parse_values(text)
    assert [(k.path, k.line) for k in doc.undocumented] == [
        ("probes.liveness.port", 7),
        ("b", 8),
    ]
    assert [row.key for row in doc.rows] == ["a", "probes.liveness.path"]


def test_a_comment_separated_by_a_blank_line_documents_nothing() -> None:
    doc = parse_values("# -- Orphan.\n\nkey: 1\n")
    assert [k.path for k in doc.undocumented] == ["key"]


def test_table_escapes_pipes_in_cells() -> None:
    table = render_table([ValueRow("a", "int | null", "null", "x | y")])
    assert table.splitlines() == [
        "| Key | Type | Default | Description |",
        "|-----|------|---------|-------------|",
        "| `a` | int \\| null | `null` | x \\| y |",
    ]


def test_replace_region_keeps_the_prose_around_the_markers() -> None:
    readme = f"# Title\n\nIntro.\n\n{START_MARKER}\nold table\n{END_MARKER}\n\nOutro.\n"
    updated = replace_region(readme, "| new |\n")
    assert updated == f"# Title\n\nIntro.\n\n{START_MARKER}\n\n| new |\n\n{END_MARKER}\n\nOutro.\n"
    assert replace_region(updated, "| new |\n") == updated


def test_missing_marker_is_a_clear_error() -> None:
    with pytest.raises(CharthouseError, match=r"README.md: marker .*values:end"):
        replace_region(f"{START_MARKER}\n", "x", source="README.md")


def test_malformed_values_name_the_file() -> None:
    with pytest.raises(CharthouseError, match=r"values\.yaml: invalid YAML"):
        parse_values("a: [1\n", source="values.yaml")


def make_chart(tmp_path: Path, values: str = VALUES) -> Path:
    chart = tmp_path / "demo"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(values)
    (chart / "README.md").write_text(f"# demo\n\n{START_MARKER}\n{END_MARKER}\n")
    return chart


def test_stale_table_is_detected_and_fixed(tmp_path: Path) -> None:
    chart = make_chart(tmp_path)
    assert chart_docs(chart).stale
    readme = chart / "README.md"
    readme.write_text(chart_docs(chart).expected)
    assert not chart_docs(chart).stale
    # a changed default makes it stale again
    (chart / "values.yaml").write_text(VALUES.replace("replicaCount: 2", "replicaCount: 3"))
    docs = chart_docs(chart)
    assert docs.stale
    assert "| `replicaCount` | int | `3` |" in docs.expected


def test_cli_check_exits_1_naming_the_stale_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = make_chart(tmp_path)
    before = (chart / "README.md").read_text()
    assert main(["docs", "--check", str(chart)]) == 1
    assert "README.md: values table is stale (run: charthouse docs demo)" in capsys.readouterr().err
    assert (chart / "README.md").read_text() == before  # --check writes nothing

    assert main(["docs", str(chart)]) == 0
    assert main(["docs", "--check", str(chart)]) == 0
    assert "| `image.tag` |" in (chart / "README.md").read_text()


def test_cli_refuses_to_write_while_a_key_is_undocumented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = make_chart(tmp_path, VALUES + "secret: x\n")
    before = (chart / "README.md").read_text()
    assert main(["docs", str(chart)]) == ExitCode.CHECK_FAILED
    err = capsys.readouterr().err
    line = len(VALUES.splitlines()) + 1
    assert f"values.yaml:{line}: secret: undocumented value" in err
    assert (chart / "README.md").read_text() == before
    assert main(["docs", "--check", str(chart)]) == ExitCode.CHECK_FAILED


def test_cli_missing_readme_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = make_chart(tmp_path)
    (chart / "README.md").unlink()
    assert main(["docs", str(chart)]) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.strip().endswith("README.md: not found")
    assert main(["docs", "--check", str(chart)]) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.strip().endswith("README.md: not found")


def test_write_is_atomic_and_keeps_no_temp_files(tmp_path: Path) -> None:
    chart = make_chart(tmp_path)
    assert main(["docs", str(chart)]) == 0
    assert sorted(p.name for p in chart.iterdir()) == ["Chart.yaml", "README.md", "values.yaml"]


def test_real_chart_copy_round_trips(tmp_path: Path) -> None:
    """The app chart's own README regenerates to itself."""
    source = Path(__file__).parents[2] / "charts" / "app"
    copy = tmp_path / "app"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("charts"))
    docs = chart_docs(copy)
    assert docs.undocumented == ()
    assert not docs.stale
