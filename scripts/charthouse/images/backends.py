"""The two ways an image is built from its Dockerfile: buildah (no daemon, the
default here) or docker (where a Docker engine answers, e.g. the kind job).

Both take the same staged context and Dockerfile and expose the same few
operations; everything above this module is backend-neutral.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from charthouse import hostpkgs
from charthouse.errors import CharthouseError
from charthouse.proc import run

BACKEND_ENV = "CHARTHOUSE_IMAGE_BACKEND"
# Containers of ours that outlive a build on purpose (image tests mount an
# image's rootfs): leftover cleanup leaves them alone.
KEEP_PREFIX = "charthouse-run-"
_BUILD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class LocalImage:
    image_id: str
    size: int


class Backend(Protocol):
    name: str
    # Whether the backend can pull base images the catalog does not build (docker
    # can; buildah here cannot): one that cannot is given the catalog's `stages`.
    pulls_bases: bool

    def build(
        self,
        context: Path,
        tag: str,
        build_args: Mapping[str, str],
        timestamp: int,
        *,
        stages: Mapping[str, Path] | None = None,
    ) -> None:
        """Build ``context``'s Dockerfile as ``tag``; ``stages`` maps a stage name to
        the directory that replaces it (a named build context)."""
        ...

    def images(self) -> dict[str, LocalImage]:
        """Every tagged image in the store, by reference (one call: the warm path)."""
        ...

    def tag(self, ref: str, new: str) -> None:
        """Give the image ``ref`` a second reference ``new`` in the store."""
        ...

    def push(self, ref: str, destination: str) -> None:
        """Push ``ref`` to ``destination`` (host:port/path:tag) over plain HTTP."""
        ...

    def remove_leftovers(self) -> None:
        """What a killed build left (working containers, untagged images)."""
        ...


_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_HEALTHCHECK = re.compile(r"^\s*HEALTHCHECK\s+(?!NONE\s*$)", re.IGNORECASE | re.MULTILINE)


def _build_contexts(stages: Mapping[str, Path] | None) -> list[str]:
    """``--build-context stage=dir`` for each replaced stage (BuildKit and buildah
    give a named context precedence over the Dockerfile stage of that name)."""
    return [f"--build-context={name}={path}" for name, path in sorted((stages or {}).items())]


def _declares_healthcheck(dockerfile: Path) -> bool:
    return bool(_HEALTHCHECK.search(dockerfile.read_text(encoding="utf-8")))


def _size(text: str) -> int:
    """'80.9 MB' -> 80900000 (the stores report sizes in decimal units)."""
    match = re.match(r"^\s*([0-9.]+)\s*([KMGT]?B)\s*$", text.upper())
    return int(float(match.group(1)) * _UNITS[match.group(2)]) if match else 0


class Buildah:
    """buildah with its own store under ``$CHARTHOUSE_HOME/images/buildah``
    (vfs driver, chroot isolation: works as root without overlay or a daemon)."""

    name = "buildah"
    pulls_bases = False

    def __init__(self, home: Path) -> None:
        self.root = home / "buildah" / "storage"
        self.runroot = home / "buildah" / "run"

    def _cmd(self, *args: str | Path) -> list[str | Path]:
        return [
            "buildah",
            "--root",
            self.root,
            "--runroot",
            self.runroot,
            "--storage-driver",
            "vfs",
            *args,
        ]

    def build(
        self,
        context: Path,
        tag: str,
        build_args: Mapping[str, str],
        timestamp: int,
        *,
        stages: Mapping[str, Path] | None = None,
    ) -> None:
        args = [f"--build-arg={k}={v}" for k, v in sorted(build_args.items())]
        args += _build_contexts(stages)
        # The OCI image config has no health check: buildah drops HEALTHCHECK (with
        # a warning) unless it writes Docker's format, which containerd reads too.
        if _declares_healthcheck(context / "Dockerfile"):
            args.append("--format=docker")
        run(
            self._cmd(
                "bud",
                "--isolation=chroot",
                "--pull=never",
                "--layers=false",
                "--force-rm",
                "--identity-label=false",
                f"--timestamp={timestamp}",
                "--quiet",
                *args,
                f"--tag={tag}",
                "--file",
                context / "Dockerfile",
                context,
            ),
            timeout=_BUILD_TIMEOUT,
        )

    def images(self) -> dict[str, LocalImage]:
        out = run(self._cmd("images", "--json", "--no-trunc"), timeout=120).stdout
        result = {}
        for image in json.loads(out or "null") or []:
            for name in image.get("names") or []:
                result[name] = LocalImage(image["id"], _size(image.get("size", "")))
        return result

    def tag(self, ref: str, new: str) -> None:
        run(self._cmd("tag", ref, new), timeout=120)

    def push(self, ref: str, destination: str) -> None:
        run(
            self._cmd("push", "--quiet", "--tls-verify=false", ref, f"docker://{destination}"),
            timeout=_BUILD_TIMEOUT,
        )

    def remove_leftovers(self) -> None:
        out = run(self._cmd("containers", "--json"), timeout=120).stdout
        stale = [
            c["id"]
            for c in (json.loads(out or "null") or [])
            if not str(c.get("containername", "")).startswith(KEEP_PREFIX)
        ]
        if stale:
            run(self._cmd("rm", *stale), timeout=300)
        run(self._cmd("rmi", "--prune"), check=False, timeout=300)

    # For tests and debugging: a container's root filesystem as a directory.
    def mount(self, ref: str, name: str) -> Path:
        run(self._cmd("rm", name), check=False, timeout=120)
        run(self._cmd("from", "--pull=never", "--name", name, ref), timeout=300)
        return Path(run(self._cmd("mount", name), timeout=120).stdout.strip())

    def unmount(self, name: str) -> None:
        run(self._cmd("rm", name), check=False, timeout=120)

    def config(self, ref: str) -> dict[str, object]:
        """The image's OCI config (Entrypoint, Cmd, User, Env, ...)."""
        out = run(self._cmd("inspect", "--type", "image", ref), timeout=120).stdout
        config: dict[str, object] = json.loads(out)["OCIv1"]["config"]
        return config


# Every image the docker backend builds carries this label, so clean-up prunes
# our replaced images and never a user's other dangling ones.
DOCKER_LABEL = "dev.charthouse.built-by=charthouse"


def _docker_name(repository: str, tag: str) -> str:
    """A ``docker images`` row as a full reference: Docker shows Docker Hub images
    by their short name (``debian``, ``traefik/whoami``), other registries with
    their host (``registry.k8s.io/pause``, ``localhost:5000/app``)."""
    first, slash, _ = repository.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return f"{repository}:{tag}"
    return f"docker.io/{repository if slash else 'library/' + repository}:{tag}"


class Docker:
    """The Docker engine (``docker build``), where one answers: the kind job, or a
    laptop. Images are not byte-reproducible here (BuildKit takes the creation
    time from SOURCE_DATE_EPOCH but keeps file times), hence the backend is part
    of the cache key."""

    name = "docker"
    pulls_bases = True

    def build(
        self,
        context: Path,
        tag: str,
        build_args: Mapping[str, str],
        timestamp: int,
        *,
        stages: Mapping[str, Path] | None = None,
    ) -> None:
        args = [f"--build-arg={k}={v}" for k, v in sorted(build_args.items())]
        args.append(f"--build-arg=SOURCE_DATE_EPOCH={timestamp}")
        args += _build_contexts(stages)
        run(
            [
                "docker",
                "build",
                "--quiet",
                *args,
                "--label",
                DOCKER_LABEL,
                "--tag",
                tag,
                "--file",
                context / "Dockerfile",
                context,
            ],
            timeout=_BUILD_TIMEOUT,
        )

    def images(self) -> dict[str, LocalImage]:
        out = run(["docker", "images", "--no-trunc", "--format", "{{json .}}"], timeout=120).stdout
        result = {}
        for line in out.splitlines():
            if not line.strip():
                continue
            image = json.loads(line)
            if image.get("Tag") in (None, "", "<none>"):
                continue
            ref = _docker_name(str(image["Repository"]), str(image["Tag"]))
            result[ref] = LocalImage(image["ID"], _size(image.get("Size", "")))
        return result

    def tag(self, ref: str, new: str) -> None:
        run(["docker", "tag", ref, new], timeout=120)

    def push(self, ref: str, destination: str) -> None:
        run(["docker", "tag", ref, destination], timeout=120)
        try:
            run(["docker", "push", "--quiet", destination], timeout=_BUILD_TIMEOUT)
        finally:
            run(["docker", "rmi", destination], check=False, timeout=120)

    def remove_leftovers(self) -> None:
        # BuildKit leaves no working containers; what a rebuild replaced is a
        # dangling image of ours.
        run(
            ["docker", "image", "prune", "--force", "--filter", f"label={DOCKER_LABEL}"],
            check=False,
            timeout=300,
        )


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return run(["docker", "info"], check=False, timeout=20).returncode == 0


def detect(home: Path) -> Backend:
    """docker when a Docker engine answers (or CHARTHOUSE_IMAGE_BACKEND=docker), else buildah."""
    wanted = os.environ.get(BACKEND_ENV, "")
    if wanted not in ("", "buildah", "docker"):
        raise CharthouseError(f"{BACKEND_ENV}={wanted!r}: expected buildah or docker")
    if wanted == "docker" or (not wanted and docker_answers()):
        return Docker()
    return buildah(home)


def buildah(home: Path) -> Buildah:
    """The buildah backend, its host packages installed first (buildah, and mmdebstrap
    for the Debian base it builds on: a fresh machine has neither)."""
    hostpkgs.ensure("images")
    return Buildah(home)
