"""A fake ``docker`` (and ``kind``) CLI for the docker backend's unit tests: no
Docker engine runs here. It logs every command line as a JSON line to
``$FAKE_DOCKER_LOG`` and keeps an image store (reference -> ID, labels) in
``$FAKE_DOCKER_STORE``, answering ``docker images`` with Docker's short names
(``debian``, ``traefik/whoami``) as the real CLI does."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

FAKE = """#!{python}
import sys
sys.path.insert(0, {here!r})
import fake_docker
sys.exit(fake_docker.{entry}(sys.argv[1:]))
"""


def install(bin_dir: Path, log: Path, store: Path) -> dict[str, str]:
    """Write ``docker`` and ``kind`` into ``bin_dir``; the environment that puts them first."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, entry in (("docker", "docker"), ("kind", "kind")):
        script = bin_dir / name
        script.write_text(
            FAKE.format(python=sys.executable, here=str(Path(__file__).parent), entry=entry)
        )
        script.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_LOG": str(log),
        "FAKE_DOCKER_STORE": str(store),
    }


def calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def _log(argv: list[str]) -> None:
    with Path(os.environ["FAKE_DOCKER_LOG"]).open("a") as out:
        out.write(json.dumps(argv) + "\n")


def _store() -> dict[str, dict[str, object]]:
    path = Path(os.environ["FAKE_DOCKER_STORE"])
    return json.loads(path.read_text()) if path.exists() else {}


def _save(store: dict[str, dict[str, object]]) -> None:
    Path(os.environ["FAKE_DOCKER_STORE"]).write_text(json.dumps(store))


def _short(ref: str) -> tuple[str, str]:
    """docker.io/library/debian:x -> (debian, x), as `docker images` shows it."""
    name, _, tag = ref.rpartition(":")
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :], tag
    return name, tag


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def docker(argv: list[str]) -> int:
    _log(["docker", *argv])
    store = _store()
    command = argv[0] if argv else ""
    if command == "info":
        return 0
    if command == "build":
        context = Path(argv[-1])
        digest = hashlib.sha256()
        for path in sorted(context.rglob("*")):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
        digest.update(json.dumps([a for a in argv if a.startswith("--build-arg")]).encode())
        if os.environ.get("FAKE_DOCKER_FAIL_BUILD"):
            print("ERROR: failed to solve: process did not complete", file=sys.stderr)
            return 1
        image_id = "sha256:" + digest.hexdigest()
        label = _option(argv, "--label") if "--label" in argv else ""
        store[_option(argv, "--tag")] = {"id": image_id, "label": label}
        _save(store)
        print(image_id)
        return 0
    if command == "images":
        for ref, image in store.items():
            repository, tag = _short(ref)
            row = {"Repository": repository, "Tag": tag, "ID": image["id"], "Size": "12.5MB"}
            print(json.dumps(row))
        print(json.dumps({"Repository": "<none>", "Tag": "<none>", "ID": "sha256:0", "Size": "1B"}))
        return 0
    if command == "tag":
        source, target = argv[1], argv[2]
        if "/" not in source.split(":")[0] and source not in store:
            source = f"docker.io/library/{source}"
        if source not in store:
            print(f"Error response from daemon: No such image: {argv[1]}", file=sys.stderr)
            return 1
        store[target] = store[source]
        _save(store)
        return 0
    if command == "push":
        if os.environ.get("FAKE_DOCKER_FAIL_PUSH"):
            print("received unexpected HTTP status: 500", file=sys.stderr)
            return 1
        return 0
    if command == "rmi":
        store.pop(argv[1], None)
        _save(store)
        return 0
    if command == "image" and argv[1:2] == ["prune"]:
        return 0
    print(f"fake docker: unknown command {argv}", file=sys.stderr)
    return 2


def kind(argv: list[str]) -> int:
    _log(["kind", *argv])
    if argv == ["version"]:
        print("kind v0.33.0 go1.26.0 linux/amd64")
        return 0
    if argv[:2] == ["load", "docker-image"]:
        if os.environ.get("FAKE_KIND_FAIL"):
            print("ERROR: no nodes found for cluster", file=sys.stderr)
            return 1
        store = _store()
        images = argv[2 : argv.index("--name")] if "--name" in argv else argv[2:]
        missing = [ref for ref in images if ref not in store]
        if missing:
            print(f"ERROR: image: {missing[0]!r} not present locally", file=sys.stderr)
            return 1
        return 0
    return 2
