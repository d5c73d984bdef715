"""index.yaml: clear load errors, append-only merge, deterministic atomic output."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import yaml

from charthouse import atomicfile
from charthouse.errors import CharthouseError
from charthouse.release import index as idx

HELM_STYLE = """\
apiVersion: v1
entries:
  app:
  - apiVersion: v2
    created: 2024-05-01T10:11:12.123456789Z
    digest: aaaa
    name: app
    urls:
    - https://example.invalid/app-0.1.0.tgz
    version: 0.1.0
generated: "2024-05-01T10:11:12.123456789Z"
serverInfo:
  contextPath: /charts
"""


def entry(name: str, version: str, digest: str, created: str = "2025-01-01T00:00:00Z") -> idx.Entry:
    return {
        "apiVersion": "v2",
        "name": name,
        "version": version,
        "digest": digest,
        "created": created,
        "urls": [f"{name}-{version}.tgz"],
    }


def test_existing_entries_survive_a_merge_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "index.yaml"
    path.write_text(HELM_STYLE)
    index = idx.load(path)
    before = copy.deepcopy(index.entries["app"][0])
    result = idx.merge(index, [entry("app", "0.2.0", "bbbb")])
    atomicfile.write(path, idx.dumps(index))
    reloaded = idx.load(path)
    assert result.added == ("app-0.2.0",)
    kept = reloaded.find("app", "0.1.0")
    assert kept == before
    # helm's unquoted nanosecond timestamp is kept as written, not re-serialised
    assert kept is not None and kept["created"] == "2024-05-01T10:11:12.123456789Z"
    assert reloaded.extra == {"serverInfo": {"contextPath": "/charts"}}
    assert reloaded.versions("app") == ["0.2.0", "0.1.0"]


def test_same_digest_is_skipped_so_a_rerun_is_a_noop() -> None:
    index = idx.Index()
    idx.merge(index, [entry("app", "0.1.0", "aaaa")])
    before = idx.dumps(index)
    result = idx.merge(index, [entry("app", "0.1.0", "aaaa", created="2030-01-01T00:00:00Z")])
    assert result.added == () and result.skipped == ("app-0.1.0",)
    assert idx.dumps(index) == before


def test_same_version_with_another_digest_is_refused_and_nothing_changes() -> None:
    index = idx.Index()
    idx.merge(index, [entry("app", "0.1.0", "aaaa")])
    before = idx.dumps(index)
    refused = r"entries\.app: version 0\.1\.0 is already published"
    with pytest.raises(CharthouseError, match=refused):
        idx.merge(index, [entry("db", "1.0.0", "cccc"), entry("app", "0.1.0", "bbbb")], "x.yaml")
    assert idx.dumps(index) == before  # db was not half-added either


def test_output_is_deterministic_whatever_the_insertion_order() -> None:
    entries = [
        entry(n, f"0.{v}.0", f"{n}{v}", f"2025-01-0{v + 1}T00:00:00Z")
        for n in ("stack", "app", "db")
        for v in range(5)
    ]
    outputs = set()
    for shuffle in range(5):
        shuffled = entries[:]
        random.Random(shuffle).shuffle(shuffled)
        index = idx.Index()
        idx.merge(index, shuffled)
        outputs.add(idx.dumps(index))
    assert len(outputs) == 1
    document = yaml.safe_load(outputs.pop())
    assert list(document["entries"]) == ["app", "db", "stack"]
    app_versions = [e["version"] for e in document["entries"]["app"]]
    assert app_versions == [f"0.{v}.0" for v in (4, 3, 2, 1, 0)]
    assert document["generated"] == "2025-01-05T00:00:00Z"  # newest created, not "now"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nentries:\n  app:\n  - version: 0.1.0\n", r"entries\.app\[0\]\.digest"),
        ("apiVersion: v1\nentries:\n  app: {}\n", r"entries\.app: expected a list"),
        ("apiVersion: v2\nentries: {}\n", r"apiVersion: expected 'v1'"),
        ("apiVersion: v1\nentries: [\n", r"invalid YAML \(line \d+, column \d+\)"),
        ("- a\n- b\n", "expected a mapping at the top level"),
        (
            "apiVersion: v1\nentries:\n  app:\n  - {version: 1.0.0, digest: a}\n"
            "  - {version: 1.0.0, digest: b}\n",
            r"entries\.app\[1\]\.version: 1\.0\.0 listed twice",
        ),
    ],
)
def test_a_broken_index_is_named_by_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "index.yaml"
    path.write_text(text)
    with pytest.raises(CharthouseError, match=message) as info:
        idx.load(path)
    assert str(path) in str(info.value)


def test_an_unreadable_index_is_an_error_not_an_empty_repository(tmp_path: Path) -> None:
    path = tmp_path / "index.yaml"
    path.mkdir()  # reading a directory fails like a permission problem would
    with pytest.raises(CharthouseError, match="cannot read index"):
        idx.load(path)


def test_missing_index_is_an_empty_repository(tmp_path: Path) -> None:
    assert len(idx.load(tmp_path / "index.yaml")) == 0


def test_our_one_line_per_version_form_is_plain_yaml_to_any_reader(tmp_path: Path) -> None:
    tricky = entry("app", "1.0.0", "aaaa")
    tricky["description"] = "multi\nline: yes, 'quotes' \"and\" ünïcode - # not a comment"
    tricky["annotations"] = {"artifacthub.io/changes": "- kind: added\n  description: x\n"}
    index = idx.Index(extra={"serverInfo": {"contextPath": "/c"}})
    idx.merge(index, [tricky, entry("weird name", "0.1.0", "bbbb")])
    data = idx.dumps(index)
    assert data.decode().count("\n  - {") == 2  # one line per version
    path = tmp_path / "index.yaml"
    path.write_bytes(data)
    by_yaml = yaml.safe_load(data)  # what helm / Artifact Hub / any YAML reader sees
    assert by_yaml["entries"]["app"][0] == tricky
    loaded = idx.load(path)  # our fast path
    assert loaded.entries == by_yaml["entries"]
    assert loaded.extra == {"serverInfo": {"contextPath": "/c"}}
    assert idx.dumps(loaded) == data
