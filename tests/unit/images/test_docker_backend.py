"""The docker backend, run against a fake ``docker`` on PATH (no Docker engine
here): the command lines it builds, the references it reads back from
``docker images``, pushes that clean up after themselves, clean-up that prunes
only our own images, and a whole cached build through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse.errors import CharthouseError
from charthouse.images import backends, builder
from charthouse.images.backends import DOCKER_LABEL, Docker
from unit.images import fake_docker
from unit.images.image_support import write_catalog


@pytest.fixture
def docker_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "docker.log"
    env = fake_docker.install(tmp_path / "bin", log, tmp_path / "store.json")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return log


def _context(tmp_path: Path) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    return context


def test_build_passes_pinned_args_the_epoch_our_label_and_the_dockerfile(
    tmp_path: Path, docker_log: Path
) -> None:
    context = _context(tmp_path)
    Docker().build(context, "docker.io/library/app:1", {"B": "2", "A": "1"}, 1764547200)
    (call,) = fake_docker.calls(docker_log)
    assert call == [
        "docker",
        "build",
        "--quiet",
        "--build-arg=A=1",
        "--build-arg=B=2",
        "--build-arg=SOURCE_DATE_EPOCH=1764547200",
        "--label",
        DOCKER_LABEL,
        "--tag",
        "docker.io/library/app:1",
        "--file",
        str(context / "Dockerfile"),
        str(context),
    ]


def test_a_failed_build_names_the_command_and_docker_s_message(
    tmp_path: Path, docker_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_FAIL_BUILD", "1")
    with pytest.raises(CharthouseError, match=r"docker build .*\n.*failed to solve"):
        Docker().build(_context(tmp_path), "docker.io/library/app:1", {}, 1)


@pytest.mark.parametrize(
    "ref",
    [
        "docker.io/library/debian:trixie-slim",
        "docker.io/traefik/whoami:v1.11.0",
        "registry.k8s.io/pause:3.10.2",
        "registry.k8s.io/coredns/coredns:v1.15.0",
        "quay.io/prometheuscommunity/postgres-exporter:v0.20.1",
        "localhost:5000/team/app:1",
        "127.0.0.1:5000/team/app:1",
        "localhost/app:1",
    ],
)
def test_images_reads_back_the_reference_it_was_tagged_with(
    tmp_path: Path, docker_log: Path, ref: str
) -> None:
    """Docker lists Docker Hub images by short name and others by host (with port):
    each must come back as the full reference the catalog uses, or every warm
    build would rebuild."""
    docker = Docker()
    docker.build(_context(tmp_path), ref, {}, 1)
    listed = docker.images()
    assert set(listed) == {ref}, "untagged (<none>) images are left out"
    assert listed[ref].image_id.startswith("sha256:")
    assert listed[ref].size == 12_500_000


def test_push_tags_pushes_and_untags_even_when_the_push_fails(
    tmp_path: Path, docker_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker = Docker()
    docker.build(_context(tmp_path), "docker.io/traefik/whoami:v1.11.0", {}, 1)
    destination = "127.0.0.1:5000/traefik/whoami:v1.11.0"
    docker.push("docker.io/traefik/whoami:v1.11.0", destination)
    assert fake_docker.calls(docker_log)[1:] == [
        ["docker", "tag", "docker.io/traefik/whoami:v1.11.0", destination],
        ["docker", "push", "--quiet", destination],
        ["docker", "rmi", destination],
    ]
    monkeypatch.setenv("FAKE_DOCKER_FAIL_PUSH", "1")
    with pytest.raises(CharthouseError, match="docker push"):
        docker.push("docker.io/traefik/whoami:v1.11.0", destination)
    assert fake_docker.calls(docker_log)[-1] == ["docker", "rmi", destination]
    assert set(docker.images()) == {"docker.io/traefik/whoami:v1.11.0"}


def test_clean_up_prunes_only_images_we_built(docker_log: Path) -> None:
    """A plain `docker image prune` would delete every dangling image of the user's."""
    Docker().remove_leftovers()
    assert fake_docker.calls(docker_log) == [
        ["docker", "image", "prune", "--force", "--filter", f"label={DOCKER_LABEL}"]
    ]


def test_a_cached_build_through_docker_builds_once_and_tags_extra_references(
    tmp_path: Path, home: Path, docker_log: Path
) -> None:
    cat = write_catalog(tmp_path, base_extra="    alsoTagged: [v0]\n")
    first = builder.build(catalog=cat, backend=Docker())
    assert [b.rebuilt for b in first] == [True, True]
    builds = [c for c in fake_docker.calls(docker_log) if c[1] == "build"]
    assert [c[c.index("--tag") + 1] for c in builds] == [
        "docker.io/library/base:1",
        "docker.io/library/app:1",
    ]
    assert ["docker", "tag", "docker.io/library/base:1", "docker.io/library/base:v0"] in (
        fake_docker.calls(docker_log)
    )
    count = len(fake_docker.calls(docker_log))
    second = builder.build(catalog=cat, backend=Docker())
    assert not any(b.rebuilt for b in second)
    assert fake_docker.calls(docker_log)[count:] == [
        ["docker", "images", "--no-trunc", "--format", "{{json .}}"]
    ], "a warm build asks docker one question"


def test_detect_takes_docker_when_asked_or_when_an_engine_answers(
    docker_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(backends.BACKEND_ENV, "docker")
    assert isinstance(backends.detect(tmp_path), Docker)
    monkeypatch.setenv(backends.BACKEND_ENV, "")
    assert isinstance(backends.detect(tmp_path), Docker)
    assert ["docker", "info"] in fake_docker.calls(docker_log)
    monkeypatch.setenv(backends.BACKEND_ENV, "podman")
    with pytest.raises(CharthouseError, match="CHARTHOUSE_IMAGE_BACKEND='podman'"):
        backends.detect(tmp_path)
