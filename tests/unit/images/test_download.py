"""Source tarballs pinned by URL and SHA-256, served by a real HTTP server on
127.0.0.1: staged into the context, downloaded once, a file that does not match
its pin refused and never kept, a missing file or a bad pin named by its field."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from charthouse.errors import CharthouseError
from charthouse.images import cachekey, sources
from charthouse.images.catalog import ContextInput
from support.servers import handler_port
from unit.images.image_support import write_catalog

BODY = b"busybox-1.37.0/ pretend tarball\n" * 64
SHA256 = hashlib.sha256(BODY).hexdigest()


@dataclass
class Server:
    url: str
    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    served = Server("", {"/pool/busybox_1.37.0.orig.tar.bz2": BODY})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            body = served.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    with handler_port(Handler) as port:
        served.url = f"http://127.0.0.1:{port}"
        yield served


def _stage(tmp_path: Path, config: object, name: str = "busybox.tar.bz2") -> Path:
    cat = write_catalog(tmp_path)
    context = tmp_path / "context"
    context.mkdir(exist_ok=True)
    item = ContextInput(name, "sourceTarball", config)
    staging = sources.Staging(cat.get("app"), cat, context, tmp_path / "cache")
    sources.producer(staging.spec, item).stage(item, staging)
    return context / name


def test_the_tarball_is_staged_and_downloaded_once(tmp_path: Path, server: Server) -> None:
    config = {"url": f"{server.url}/pool/busybox_1.37.0.orig.tar.bz2", "sha256": SHA256}
    assert _stage(tmp_path, config).read_bytes() == BODY
    (tmp_path / "context" / "busybox.tar.bz2").unlink()
    assert _stage(tmp_path, config).read_bytes() == BODY
    assert server.requests == ["/pool/busybox_1.37.0.orig.tar.bz2"]
    cached = list((tmp_path / "cache").iterdir())
    assert [p.name for p in cached] == [f"{SHA256[:16]}-busybox_1.37.0.orig.tar.bz2"]


def test_a_cached_copy_that_no_longer_matches_is_fetched_again(
    tmp_path: Path, server: Server
) -> None:
    config = {"url": f"{server.url}/pool/busybox_1.37.0.orig.tar.bz2", "sha256": SHA256}
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{SHA256[:16]}-busybox_1.37.0.orig.tar.bz2").write_bytes(BODY[:100])  # cut short
    assert _stage(tmp_path, config).read_bytes() == BODY
    assert len(server.requests) == 1


def test_a_file_that_does_not_match_its_pin_is_refused_and_not_kept(
    tmp_path: Path, server: Server
) -> None:
    server.files["/pool/changed.tar.bz2"] = BODY + b"changed upstream"
    config = {"url": f"{server.url}/pool/changed.tar.bz2", "sha256": SHA256}
    refused = rf"tar\.bz2\.sourceTarball\.sha256: .* has sha256 \w{{64}}, not the pinned {SHA256}"
    with pytest.raises(CharthouseError, match=refused):
        _stage(tmp_path, config)
    assert not list((tmp_path / "cache").iterdir())
    assert not (tmp_path / "context" / "busybox.tar.bz2").exists()


def test_a_file_the_server_no_longer_has_names_the_url(tmp_path: Path, server: Server) -> None:
    config = {"url": f"{server.url}/pool/busybox_1.37.0-5.debian.tar.xz", "sha256": SHA256}
    gone = r"sourceTarball\.url: .* answered HTTP 404 \(the server no longer has it"
    with pytest.raises(CharthouseError, match=gone):
        _stage(tmp_path, config, "debian.tar.xz")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"url": "ftp://deb.example/x.tar.bz2", "sha256": SHA256}, "url"),
        ({"url": "http://deb.example/pool/", "sha256": SHA256}, "url"),
        ({"url": "http://deb.example/x.tar.bz2", "sha256": SHA256.upper()}, "sha256"),
        ({"url": "http://deb.example/x.tar.bz2", "sha256": SHA256[:40]}, "sha256"),
    ],
)
def test_a_bad_pin_is_named_by_its_field(tmp_path: Path, config: object, field: str) -> None:
    cat = write_catalog(tmp_path)
    item = ContextInput("src.tar.bz2", "sourceTarball", config)
    named = rf"images\.app\.context\.src\.tar\.bz2\.sourceTarball\.{field}: expected"
    with pytest.raises(CharthouseError, match=named):
        sources.fingerprints(dataclasses.replace(cat.get("app"), context=(item,)), cat)


def test_a_pin_needs_exactly_url_and_sha256(tmp_path: Path) -> None:
    cat = write_catalog(tmp_path)
    for config in ("http://deb.example/x.tar.bz2", {"url": "http://deb.example/x.tar.bz2"}):
        item = ContextInput("src.tar.bz2", "sourceTarball", config)
        with pytest.raises(CharthouseError, match=r"expected a mapping with url and sha256"):
            sources.producer(cat.get("app"), item).fingerprint(item, cat.get("app"), cat)


def test_the_cache_key_follows_the_checksum_not_the_url(tmp_path: Path) -> None:
    def key(url: str, sha256: str) -> str:
        pin = f"{{sourceTarball: {{url: '{url}', sha256: {sha256}}}}}"
        extra = f"    context:\n      s.tar: {pin}\n"
        cat = write_catalog(tmp_path, app_extra=extra)
        return cachekey.key(cat.get("app"), cat, {"base": "sha256:b"}, "fake")

    first = key("http://a.example/s.tar", SHA256)
    assert key("http://mirror.example/pool/s.tar", SHA256) == first
    assert key("http://a.example/s.tar", hashlib.sha256(b"other").hexdigest()) != first
