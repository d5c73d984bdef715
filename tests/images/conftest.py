"""Fixtures of the image behaviour tests: the images built (cached), runc, and each
image's root filesystem mounted once per module."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from image_runner import Container, Image

from charthouse import tools
from charthouse.images import backends, builder
from charthouse.images.backends import Buildah


@pytest.fixture(scope="session")
def buildah() -> Buildah:
    if os.geteuid() != 0:
        pytest.skip("running images with runc needs root")
    if os.environ.get("CHARTHOUSE_IMAGE_BACKEND", "buildah") != "buildah":
        pytest.skip("these tests mount images from the buildah store")
    return backends.buildah(builder.home())


@pytest.fixture(scope="session")
def runc() -> Path:
    return tools.ensure_tool("runc")


@pytest.fixture(scope="session")
def built(buildah: Buildah) -> dict[str, str]:
    """Every image, built where needed: name -> reference."""
    return {b.spec.name: str(b.spec.ref) for b in builder.build(backend=buildah)}


@pytest.fixture(scope="module")
def image(buildah: Buildah, built: dict[str, str]) -> Iterator[Callable[[str], Image]]:
    """``image(name)``: the image's root filesystem, mounted for this module."""
    opened: dict[str, Image] = {}

    def get(name: str) -> Image:
        if name not in opened:
            opened[name] = Image(buildah, built[name], name)
        return opened[name]

    yield get
    for item in opened.values():
        item.close()


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Bundles and runc state of one test, in a short path (socket paths are limited)."""
    path = Path(f"/tmp/charthouse-images-{os.getpid()}")
    path.mkdir(exist_ok=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def container(runc: Path, workdir: Path) -> Iterator[Callable[..., Container]]:
    """``container(image, ...)``: a container, stopped and deleted after the test."""
    made: list[Container] = []

    def make(image: Image, **kwargs: object) -> Container:
        made.append(Container(runc, workdir, image, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for item in reversed(made):
        item.stop()
