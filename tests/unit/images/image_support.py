"""A small catalog of two images (base, app FROM base) and a backend that keeps
images in memory, so the builder's caching and bookkeeping run offline in
milliseconds."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from charthouse.images import catalog
from charthouse.images.backends import LocalImage


def write_catalog(
    root: Path,
    *,
    base_from: str = "scratch",
    app_from: str = "docker.io/library/base:1",
    app_dockerfile: str | None = None,
    build_args: str = "",
) -> catalog.Catalog:
    images = root / "images"
    for name, dockerfile in (
        ("base", f"FROM {base_from}\nCOPY hello /hello\n"),
        ("app", app_dockerfile or f"FROM {app_from}\nCOPY app.txt /\n"),
    ):
        (images / name).mkdir(parents=True, exist_ok=True)
        (images / name / "Dockerfile").write_text(dockerfile)
    (images / "base" / "hello").write_text("hello\n")
    (images / "app" / "app.txt").write_text("app\n")
    pins = root / "tools.yaml"
    pins.write_text(
        "imageInputs:\n  debian: {suite: trixie, mirror: http://deb.example}\n"
        "  sourceDateEpoch: 1764547200\n"
        "images:\n"
        "  base: {ref: docker.io/library/base:1, upstream: u, builtFrom: b}\n"
        "  app:\n    ref: docker.io/library/app:1\n    upstream: u\n    builtFrom: b\n" + build_args
    )
    return catalog.load(pins, images)


class FakeBackend:
    """Builds by hashing the context (so the image ID follows the content), and can
    be told to fail, like a killed or broken build."""

    name = "fake"

    def __init__(self) -> None:
        self.store: dict[str, LocalImage] = {}
        self.builds: list[str] = []
        self.pushes: list[tuple[str, str]] = []
        self.fail_on: str = ""
        self.contexts: list[Path] = []

    def build(self, context: Path, tag: str, build_args: Mapping[str, str], timestamp: int) -> None:
        self.contexts.append(context)
        assert (context / "Dockerfile").is_file()
        if tag == self.fail_on:
            raise RuntimeError(f"build of {tag} killed")
        digest = hashlib.sha256()
        for path in sorted(context.rglob("*")):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
        digest.update(repr(sorted(build_args.items())).encode())
        self.store[tag] = LocalImage("sha256:" + digest.hexdigest(), 1000)
        self.builds.append(tag)

    def images(self) -> dict[str, LocalImage]:
        return dict(self.store)

    def push(self, ref: str, destination: str) -> None:
        self.pushes.append((ref, destination))

    def remove_leftovers(self) -> None:
        pass
