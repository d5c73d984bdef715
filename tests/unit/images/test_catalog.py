"""The image catalog: references as a mirror needs them, the pins read with errors
naming the file and field, and build order taken from the Dockerfiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse import images
from charthouse.errors import CharthouseError
from charthouse.images import catalog, reference
from unit.images.image_support import write_catalog


@pytest.mark.parametrize(
    ("text", "on_registry"),
    [
        ("docker.io/library/postgres:18.6-trixie", "127.0.0.1:5000/library/postgres:18.6-trixie"),
        ("registry.k8s.io/pause:3.10.2", "127.0.0.1:5000/pause:3.10.2"),
        ("registry.k8s.io/coredns/coredns:v1.15.0", "127.0.0.1:5000/coredns/coredns:v1.15.0"),
        (
            "quay.io/prometheuscommunity/postgres-exporter:v0.20.1",
            "127.0.0.1:5000/prometheuscommunity/postgres-exporter:v0.20.1",
        ),
        ("localhost:5000/team/app:1", "127.0.0.1:5000/team/app:1"),
    ],
)
def test_an_image_is_served_under_its_upstream_path(text: str, on_registry: str) -> None:
    ref = reference.parse(text)
    assert str(ref) == text
    assert ref.on("127.0.0.1:5000") == on_registry


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("postgres:18", "registry domain"),
        ("docker.io/library/postgres", "explicit tag"),
        ("docker.io/postgres:18", "docker.io/library/postgres"),
        ("docker.io/library/Postgres:18", "invalid repository path"),
        ("docker.io/library/postgres:-bad", "invalid tag"),
    ],
)
def test_a_reference_the_mirror_cannot_serve_is_refused(text: str, says: str) -> None:
    with pytest.raises(CharthouseError, match=says):
        reference.parse(text)


def test_the_repo_catalog_orders_every_base_before_its_users() -> None:
    cat = catalog.load()
    order = [spec.name for spec in cat.order()]
    assert sorted(order) == sorted(cat.images)
    for spec in cat.images.values():
        for base in cat.dependencies(spec):
            assert order.index(base) < order.index(spec.name), (base, spec.name)
    assert cat.dependencies(cat.get("postgres")) == ("debian",)
    assert set(cat.dependencies(cat.get("traefik"))) == {"debian", "busybox"}
    assert cat.dependencies(cat.get("pause")) == ()


def test_the_repo_catalog_names_what_each_image_is() -> None:
    cat = catalog.load()
    for spec in cat.images.values():
        assert spec.upstream and spec.built_from, spec.name
    # the two whose upstream source the Go proxy does not serve, and only those
    stand_ins = {s.name for s in cat.images.values() if s.stand_in}
    assert stand_ins == {"whoami", "postgres-exporter", "redis-exporter"}


def test_the_node_images_come_from_the_catalog() -> None:
    assert images.PAUSE_IMAGE == "registry.k8s.io/pause:3.10.2"
    assert images.COREDNS_IMAGE == "registry.k8s.io/coredns/coredns:v1.15.0"
    assert "docker.io" in images.MIRRORED_REGISTRIES
    # Only our example API has no upstream registry: kind pulls every other image.
    assert [spec.name for spec in images.for_kind()] == ["example-api"]


def test_only_the_given_names_and_their_bases_are_ordered(tmp_path: Path) -> None:
    cat = write_catalog(tmp_path)
    assert [s.name for s in cat.order(["app"])] == ["base", "app"]


def test_from_an_image_outside_the_catalog_is_an_error_naming_the_dockerfile(
    tmp_path: Path,
) -> None:
    cat = write_catalog(tmp_path, app_from="docker.io/library/alpine:3")
    with pytest.raises(CharthouseError, match=r"app/Dockerfile: FROM docker.io/library/alpine:3"):
        cat.order(["app"])


def test_stage_names_and_scratch_are_not_dependencies(tmp_path: Path) -> None:
    cat = write_catalog(
        tmp_path,
        app_dockerfile=(
            "FROM --platform=linux/amd64 docker.io/library/base:1 AS build\n"
            "FROM build AS second\nFROM scratch\nCOPY --from=second /x /x\n"
        ),
    )
    assert cat.dependencies(cat.get("app")) == ("base",)


def test_a_from_cycle_is_reported(tmp_path: Path) -> None:
    cat = write_catalog(tmp_path, base_from="docker.io/library/app:1")
    with pytest.raises(CharthouseError, match=r"FROM cycle base -> app -> base"):
        cat.order()


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("    upstream: u\n    builtFrom: b\n", r"images\.app\.ref"),
        ("    ref: nodomain:1\n    upstream: u\n    builtFrom: b\n", r"images\.app\.ref: .*domain"),
        ("    ref: docker.io/library/app:1\n    builtFrom: b\n", r"images\.app\.upstream"),
        (
            "    ref: docker.io/library/app:1\n    upstream: u\n    builtFrom: b\n"
            "    standIn: yes-please\n",
            r"images\.app\.standIn: expected true or false",
        ),
        (
            "    ref: docker.io/library/app:1\n    upstream: u\n    builtFrom: b\n"
            "    context:\n      bin: {go: ., tool: x}\n",
            r"images\.app\.context\.bin: expected one",
        ),
        (
            "    ref: docker.io/library/app:1\n    upstream: u\n    builtFrom: b\n"
            "    buildArgs:\n      V: [1]\n",
            r"images\.app\.buildArgs\.V: expected a string",
        ),
    ],
)
def test_a_bad_entry_names_the_file_and_the_field(tmp_path: Path, entry: str, says: str) -> None:
    (tmp_path / "images" / "app").mkdir(parents=True)
    (tmp_path / "images" / "app" / "Dockerfile").write_text("FROM scratch\n")
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        "imageInputs:\n  debian: {suite: trixie, mirror: http://deb.example}\n"
        "  sourceDateEpoch: 1\nimages:\n  app:\n" + entry
    )
    with pytest.raises(CharthouseError, match=str(pins) + ": " + says):
        catalog.load(pins, tmp_path / "images")


def test_two_images_claiming_one_registry_path_are_refused(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / "images" / name).mkdir(parents=True)
        (tmp_path / "images" / name / "Dockerfile").write_text("FROM scratch\n")
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        "imageInputs:\n  debian: {suite: trixie, mirror: http://deb.example}\n"
        "  sourceDateEpoch: 1\nimages:\n"
        "  a: {ref: docker.io/team/app:1, upstream: u, builtFrom: b}\n"
        "  b: {ref: quay.io/team/app:1, upstream: u, builtFrom: b}\n"
    )
    with pytest.raises(CharthouseError, match="same path in the local registry"):
        catalog.load(pins, tmp_path / "images")
