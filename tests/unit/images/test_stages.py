"""Images outside images/ and multi-stage Dockerfiles whose build stage cannot be
pulled here: the catalog's ``directory`` and ``stages``, the build contexts that
replace such a stage on a builder that cannot pull (buildah), the stage left to a
builder that can (docker), and the example API's entry in the repo catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from charthouse.errors import CharthouseError
from charthouse.images import backends, builder, cachekey, catalog, sources
from charthouse.images.catalog import ContextInput, ImageSpec
from unit.images.image_support import FakeBackend

MULTI_STAGE = (
    "FROM docker.io/library/golang:1.26.8-trixie AS build\n"
    "RUN go build -o /api .\n"
    "FROM scratch\n"
    "COPY --from=build /api /api\n"
)

STAGED = "    directory: examples/api\n    stages:\n      build:\n        api: {text: v1}\n"


class TextProducer:
    """A context input whose content is its config (no Go build in unit tests)."""

    def fingerprint(self, item: ContextInput, spec: ImageSpec, cat: catalog.Catalog) -> object:
        return {"text": item.config}

    def stage(self, item: ContextInput, staging: sources.Staging) -> None:
        (staging.context / item.name).write_text(str(item.config))


@pytest.fixture(autouse=True)
def text_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sources.PRODUCERS, "text", TextProducer())


def _catalog(
    root: Path,
    *,
    dockerfile: str = MULTI_STAGE,
    entry: str = STAGED,
) -> catalog.Catalog:
    (root / "examples" / "api").mkdir(parents=True, exist_ok=True)
    (root / "examples" / "api" / "Dockerfile").write_text(dockerfile)
    (root / "images").mkdir(exist_ok=True)
    pins = root / "tools.yaml"
    pins.write_text(
        "imageInputs:\n  debian: {suite: trixie, mirror: http://deb.example}\n"
        "  sourceDateEpoch: 1764547200\n"
        "images:\n"
        "  api:\n    ref: ghcr.io/team/api:1\n    upstream: u\n    builtFrom: b\n" + entry
    )
    return catalog.load(pins, root / "images")


def test_an_image_directory_may_be_outside_images(tmp_path: Path) -> None:
    spec = _catalog(tmp_path).get("api")
    assert spec.directory == tmp_path / "examples" / "api"
    assert spec.dockerfile.read_text() == MULTI_STAGE


@pytest.mark.parametrize("directory", ["../elsewhere", "/abs/api"])
def test_a_directory_outside_the_repository_is_refused(tmp_path: Path, directory: str) -> None:
    with pytest.raises(CharthouseError, match=r"images\.api\.directory: a path inside"):
        _catalog(tmp_path, entry=f"    directory: {directory}\n")


def test_a_replaced_stage_s_base_is_not_a_catalog_dependency(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    assert cat.dependencies(cat.get("api")) == ()
    assert [s.name for s in cat.order()] == ["api"]


def test_without_stages_the_unpullable_base_is_refused(tmp_path: Path) -> None:
    cat = _catalog(tmp_path, entry="    directory: examples/api\n")
    with pytest.raises(CharthouseError, match=r"FROM docker\.io/library/golang:1\.26\.8-trixie"):
        cat.dependencies(cat.get("api"))


def test_a_stage_the_dockerfile_lacks_is_named(tmp_path: Path) -> None:
    cat = _catalog(
        tmp_path,
        entry="    directory: examples/api\n    stages:\n      builder:\n        api: {text: v}\n",
    )
    with pytest.raises(CharthouseError, match=r"images\.api\.stages\.builder: .* no stage"):
        cat.dependencies(cat.get("api"))


@pytest.mark.parametrize(
    ("stages", "says"),
    [
        ("[build]", r"stages: expected a mapping"),
        ("{build: {}}", r"stages\.build: names no file"),
        ("{build: {out/api: {text: v}}}", r"stages\.build\.out/api: a plain file name"),
        ("{Build: {api: {text: v}}}", r"stages\.Build: a lower-case stage name"),
    ],
)
def test_bad_stages_are_refused_naming_the_field(tmp_path: Path, stages: str, says: str) -> None:
    with pytest.raises(CharthouseError, match=says):
        _catalog(tmp_path, entry=f"    directory: examples/api\n    stages: {stages}\n")


def test_a_builder_that_cannot_pull_gets_the_stage_s_files(tmp_path: Path, home: Path) -> None:
    cat = _catalog(tmp_path)
    backend = FakeBackend()
    (built,) = builder.build(catalog=cat, backend=backend)
    assert built.rebuilt
    assert backend.stages["ghcr.io/team/api:1"] == {"build": {"api": b"v1"}}
    staging = builder.Workspace(builder.home()).staging
    assert not any(staging.iterdir()), "the stage's build context is removed after the build"


def test_a_builder_that_pulls_builds_the_stage_itself(tmp_path: Path, home: Path) -> None:
    cat = _catalog(tmp_path)
    backend = FakeBackend()
    backend.pulls_bases = True
    builder.build(catalog=cat, backend=backend)
    assert backend.stages["ghcr.io/team/api:1"] == {}


def test_the_stage_s_inputs_are_part_of_the_key(tmp_path: Path) -> None:
    first = _catalog(tmp_path / "a")
    second = _catalog(
        tmp_path / "b",
        entry="    directory: examples/api\n    stages:\n      build:\n        api: {text: v2}\n",
    )
    assert cachekey.inputs(first.get("api"), first, {}, "fake")["stages"] == {
        "build": [["api", "text", {"text": "v1"}]]
    }
    assert cachekey.key(first.get("api"), first, {}, "fake") != cachekey.key(
        second.get("api"), second, {}, "fake"
    )


def _argv(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(argv: list[Any], **_: Any) -> None:
        calls.append([str(a) for a in argv])

    monkeypatch.setattr(backends, "run", run)
    return calls


@pytest.mark.parametrize(
    ("dockerfile", "docker_format"),
    [
        (MULTI_STAGE + 'HEALTHCHECK CMD ["/api", "healthcheck"]\n', True),
        (MULTI_STAGE + "HEALTHCHECK NONE\n", False),
        (MULTI_STAGE, False),
    ],
)
def test_buildah_gets_the_build_contexts_and_keeps_a_healthcheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dockerfile: str, docker_format: bool
) -> None:
    calls = _argv(monkeypatch)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    stage = tmp_path / "stage"
    backends.Buildah(tmp_path / "home").build(
        tmp_path, "ghcr.io/team/api:1", {}, 1, stages={"build": stage}
    )
    (argv,) = calls
    assert f"--build-context=build={stage}" in argv
    assert ("--format=docker" in argv) is docker_format
    assert argv.index("--build-context=build=" + str(stage)) < argv.index("--file")


def test_docker_passes_build_contexts_when_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _argv(monkeypatch)
    (tmp_path / "Dockerfile").write_text(MULTI_STAGE)
    backends.Docker().build(tmp_path, "ghcr.io/team/api:1", {}, 1, stages={"build": tmp_path})
    backends.Docker().build(tmp_path, "ghcr.io/team/api:1", {}, 1)
    assert f"--build-context=build={tmp_path}" in calls[0]
    assert not [a for a in calls[1] if a.startswith("--build-context")]


def test_the_repo_catalog_builds_the_example_api_from_its_own_dockerfile() -> None:
    cat = catalog.load()
    spec = cat.get("example-api")
    assert spec.directory == catalog.IMAGES_DIR.parent / "examples" / "api"
    assert spec.kind_load and not spec.stand_in
    assert cat.dependencies(spec) == ()  # scratch, and the replaced golang stage
    (api,) = spec.stages["build"]
    assert (api.name, api.kind, api.config) == ("api", "go", ".")
    text = spec.dockerfile.read_text()
    assert "COPY --from=build /api /api" in text, "the stage's file lands where the COPY reads"
    assert "FROM docker.io/library/golang:1.26." in text
    assert json.loads(json.dumps(cachekey.inputs(spec, cat, {}, "buildah")))["stages"]
