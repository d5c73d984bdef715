"""Extra tags of one image (``alsoTagged``): read from the catalog with errors
naming the field, tagged in the store, part of the cache key, pushed each to a
real registry once, and listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse import cli
from charthouse.errors import CharthouseError
from charthouse.images import builder, cachekey, catalog, ensure, records, registry
from unit.images.image_support import FakeBackend, write_catalog

ALSO = "    alsoTagged: [v0, '0.9']\n"


def test_extra_tags_are_references_of_the_same_repository(tmp_path: Path) -> None:
    cat = write_catalog(tmp_path, base_extra=ALSO)
    assert [str(ref) for ref in cat.get("base").refs] == [
        "docker.io/library/base:1",
        "docker.io/library/base:v0",
        "docker.io/library/base:0.9",
    ]
    assert [str(ref) for ref in cat.get("app").refs] == ["docker.io/library/app:1"]
    assert cat.by_ref("docker.io/library/base:0.9") is cat.get("base")


def test_a_dockerfile_may_build_from_an_extra_tag(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path, base_extra=ALSO, app_from="docker.io/library/base:v0")
    assert cat.dependencies(cat.get("app")) == ("base",)
    backend = FakeBackend()
    builder.build(catalog=cat, backend=backend)
    assert backend.builds == ["docker.io/library/base:1", "docker.io/library/app:1"]
    assert backend.store["docker.io/library/base:v0"] == backend.store["docker.io/library/base:1"]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("    alsoTagged: v0\n", r"images\.base\.alsoTagged: expected a list of tags"),
        ("    alsoTagged: [-bad]\n", r"images\.base\.alsoTagged: .*invalid tag '-bad'"),
        ("    alsoTagged: [v0, v0]\n", r"images\.base\.alsoTagged: 'v0' is listed twice"),
        ("    alsoTagged: ['1']\n", r"images\.base\.alsoTagged: '1' is listed twice \(or is ref"),
    ],
)
def test_a_bad_extra_tag_names_the_field(tmp_path: Path, extra: str, says: str) -> None:
    with pytest.raises(CharthouseError, match=says):
        write_catalog(tmp_path, base_extra=extra)


def test_an_extra_tag_may_not_claim_another_images_reference(tmp_path: Path) -> None:
    images = tmp_path / "images"
    for name in ("a", "b"):
        (images / name).mkdir(parents=True)
        (images / name / "Dockerfile").write_text("FROM scratch\n")
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        "imageInputs:\n  debian: {suite: trixie, mirror: http://deb.example}\n"
        "  sourceDateEpoch: 1\nimages:\n"
        "  a: {ref: docker.io/team/app:2, upstream: u, builtFrom: b}\n"
        "  b: {ref: quay.io/team/app:1, alsoTagged: ['2'], upstream: u, builtFrom: b}\n"
    )
    with pytest.raises(CharthouseError, match=r"images\.b: quay\.io/team/app:2 and images\.a"):
        catalog.load(pins, images)


def test_the_store_gets_each_tag_once_and_again_after_a_rebuild(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path, base_extra=ALSO)
    backend = FakeBackend()
    builder.build(catalog=cat, backend=backend)
    assert [new for _, new in backend.tags] == [
        "docker.io/library/base:v0",
        "docker.io/library/base:0.9",
    ]
    builder.build(catalog=cat, backend=backend)
    assert len(backend.tags) == 2, "a warm build tags nothing"
    (tmp_path / "images" / "base" / "hello").write_text("changed\n")
    builder.build(catalog=cat, backend=backend)
    assert len(backend.tags) == 4
    assert backend.store["docker.io/library/base:0.9"] == backend.store["docker.io/library/base:1"]


def test_extra_tags_are_in_the_cache_key_and_absent_ones_change_no_key(tmp_path: Path) -> None:
    plain = write_catalog(tmp_path / "plain")
    tagged = write_catalog(tmp_path / "tagged", base_extra=ALSO)
    one = cachekey.inputs(plain.get("base"), plain, {}, "fake")
    two = cachekey.inputs(tagged.get("base"), tagged, {}, "fake")
    assert "alsoTagged" not in one, "images without extra tags keep their keys"
    assert two["alsoTagged"] == ["v0", "0.9"]
    assert cachekey.key(plain.get("base"), plain, {}, "fake") != cachekey.key(
        tagged.get("base"), tagged, {}, "fake"
    )


def test_each_tag_is_pushed_to_a_real_registry_once(tmp_path: Path, home: Path) -> None:
    cat = write_catalog(tmp_path, base_extra=ALSO)
    backend = FakeBackend()
    backend.registry_push = True
    with registry.running(tmp_path / "registry" / "data") as client:
        first = ensure(client.address, ["base"], catalog=cat, backend=backend)
        assert [image.ref for image in first] == [
            "docker.io/library/base:1",
            "docker.io/library/base:v0",
            "docker.io/library/base:0.9",
        ]
        assert [image.local_ref for image in first][1] == f"{client.address}/library/base:v0"
        assert len({image.digest for image in first}) == 1, "one image under three tags"
        for image in first:
            assert client.digest("library/base", image.ref.rpartition(":")[2]) == image.digest
        assert len(backend.pushes) == 3
        record = records.load(builder.Workspace(builder.home()).records, "base")
        assert record is not None and set(record.pushed_digests) == {"1", "v0", "0.9"}

        again = ensure(client.address, ["base"], catalog=cat, backend=backend)
        assert len(backend.pushes) == 3, "what the registry holds is not pushed again"
        assert again == first

        (tmp_path / "images" / "base" / "hello").write_text("changed\n")
        rebuilt = ensure(client.address, ["base"], catalog=cat, backend=backend)
        assert len(backend.pushes) == 6, "a rebuilt image is pushed under every tag"
        assert {image.digest for image in rebuilt} != {image.digest for image in first}


def test_images_list_shows_every_reference(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The repo catalog's whoami is published as v1.11.0 and, for the app chart's
    canary and blue-green scenarios, v1.10.4."""
    monkeypatch.setattr(builder, "detect", lambda root: FakeBackend())
    assert cli.main(["images", "list"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    whoami = [row[-1] for row in rows if row[0] == "whoami"]
    assert whoami == ["docker.io/traefik/whoami:v1.11.0", "docker.io/traefik/whoami:v1.10.4"]
