"""The builder's cache and bookkeeping: an image is rebuilt exactly when an input
changes or the store lost it, and a failed build records nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charthouse.images import builder, cachekey, records
from unit.images.image_support import FakeBackend, write_catalog


def test_a_second_build_rebuilds_nothing(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    first = builder.build(catalog=cat, backend=backend)
    assert [b.spec.name for b in first] == ["base", "app"]
    assert all(b.rebuilt for b in first)
    second = builder.build(catalog=cat, backend=backend)
    assert not any(b.rebuilt for b in second)
    assert backend.builds == ["docker.io/library/base:1", "docker.io/library/app:1"]
    assert [b.record for b in second] == [b.record for b in first]


def test_changing_a_base_rebuilds_its_users(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    builder.build(catalog=cat, backend=backend)
    (tmp_path / "images" / "base" / "hello").write_text("changed\n")
    rebuilt = [b.spec.name for b in builder.build(catalog=cat, backend=backend) if b.rebuilt]
    assert rebuilt == ["base", "app"]


def test_changing_an_image_rebuilds_it_alone(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    builder.build(catalog=cat, backend=backend)
    (tmp_path / "images" / "app" / "app.txt").write_text("v2\n")
    rebuilt = [b.spec.name for b in builder.build(catalog=cat, backend=backend) if b.rebuilt]
    assert rebuilt == ["app"]


def test_an_image_missing_from_the_store_is_rebuilt(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    builder.build(catalog=cat, backend=backend)
    del backend.store["docker.io/library/app:1"]
    rebuilt = [b.spec.name for b in builder.build(catalog=cat, backend=backend) if b.rebuilt]
    assert rebuilt == ["app"]


def test_a_failed_build_records_nothing_and_leaves_no_staging(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    backend.fail_on = "docker.io/library/app:1"
    with pytest.raises(RuntimeError, match="killed"):
        builder.build(catalog=cat, backend=backend)
    workspace = builder.Workspace(builder.home())
    assert records.load(workspace.records, "base") is not None  # finished before the failure
    assert records.load(workspace.records, "app") is None
    assert not any(workspace.staging.iterdir())
    assert not [p for p in workspace.records.iterdir() if p.name.startswith(".")]
    backend.fail_on = ""
    rebuilt = [b.spec.name for b in builder.build(catalog=cat, backend=backend) if b.rebuilt]
    assert rebuilt == ["app"]


def test_a_corrupt_record_means_rebuild(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    builder.build(catalog=cat, backend=backend)
    workspace = builder.Workspace(builder.home())
    records.path(workspace.records, "app").write_text('{"name": "app", "ref"')  # torn write
    rebuilt = [b.spec.name for b in builder.build(catalog=cat, backend=backend) if b.rebuilt]
    assert rebuilt == ["app"]


def test_the_key_ignores_mtime_and_sees_build_args(tmp_path: Path) -> None:
    cat = write_catalog(tmp_path)
    spec = cat.get("base")
    key = cachekey.key(spec, cat, {}, "fake")
    hello = tmp_path / "images" / "base" / "hello"
    hello.touch()
    assert cachekey.key(spec, cat, {}, "fake") == key
    hello.chmod(0o755)
    assert cachekey.key(spec, cat, {}, "fake") != key, "the executable bit is content"
    other = write_catalog(tmp_path / "other", build_args="    buildArgs: {V: '2'}\n")
    app = cachekey.key(other.get("app"), other, {"base": "sha256:1"}, "fake")
    assert app != cachekey.key(cat.get("app"), cat, {"base": "sha256:1"}, "fake")
    assert app != cachekey.key(other.get("app"), other, {"base": "sha256:2"}, "fake")
    assert app != cachekey.key(other.get("app"), other, {"base": "sha256:1"}, "docker")


def test_status_tells_current_from_outdated_without_building(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path)
    backend = FakeBackend()
    assert [s.record for s in builder.status(cat, backend)] == [None, None]
    builder.build(catalog=cat, backend=backend)
    assert all(s.current for s in builder.status(cat, backend))
    (tmp_path / "images" / "app" / "app.txt").write_text("v2\n")
    assert [s.current for s in builder.status(cat, backend)] == [True, False]
    assert len(backend.builds) == 2


def test_records_round_trip_and_know_what_was_pushed_per_tag(tmp_path: Path) -> None:
    record = records.Record("app", "docker.io/library/app:1", "k", "sha256:i", "fake", 1, 2.0, 3.0)
    records.save(tmp_path, record)
    assert records.load(tmp_path, "app") == record
    assert json.loads(records.path(tmp_path, "app").read_text())["image_id"] == "sha256:i"
    assert not record.pushed("1", "sha256:d")
    pushed = records.Record(
        **{**record.__dict__, "pushed_digests": {"1": "sha256:d"}, "pushed_image_id": "sha256:i"}
    )
    records.save(tmp_path, pushed)
    assert records.load(tmp_path, "app") == pushed
    assert pushed.pushed("1", "sha256:d")
    assert not pushed.pushed("1", None)
    assert not pushed.pushed("1", "sha256:other")
    assert not pushed.pushed("2", "sha256:d"), "each tag is pushed on its own"
    rebuilt = records.Record(**{**pushed.__dict__, "image_id": "sha256:new"})
    assert not rebuilt.pushed("1", "sha256:d"), "a rebuilt image must be pushed again"


def test_a_record_from_before_extra_tags_keeps_its_pushed_digest(tmp_path: Path) -> None:
    """Records of one tag (pushed_digest) still say what the registry holds, so the
    running cluster's registry is not pushed to again after an upgrade."""
    records.path(tmp_path, "app").write_text(
        json.dumps(
            {
                "name": "app",
                "ref": "docker.io/library/app:1",
                "key": "k",
                "image_id": "sha256:i",
                "backend": "buildah",
                "size": 1,
                "seconds": 2.0,
                "built_at": 3.0,
                "pushed_digest": "sha256:d",
                "pushed_image_id": "sha256:i",
            }
        )
    )
    record = records.load(tmp_path, "app")
    assert record is not None and record.pushed("1", "sha256:d")
    records.path(tmp_path, "app").write_text('{"name": "app", "pushed_digests": [1]}')
    assert records.load(tmp_path, "app") is None


def test_build_seconds_come_from_the_records(tmp_path: Path, home: Path) -> None:
    from charthouse.images import build_seconds

    cat = write_catalog(tmp_path)
    assert build_seconds(cat) == {}
    builder.build(["base"], catalog=cat, backend=FakeBackend())
    seconds = build_seconds(cat)
    assert list(seconds) == ["base"] and seconds["base"] >= 0
