"""Pinned files fetched over HTTP (a Debian source package's tarballs), checked
against their pinned SHA-256 and kept under that checksum in the source cache:
a machine downloads each once, and a file that does not match its pin is never
used, whether the server changed it or a copy was cut short."""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from charthouse.digest import file_sha256
from charthouse.errors import CharthouseError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TIMEOUT = 120.0


def check_pin(url: object, sha256: object, where: str) -> tuple[str, str]:
    """``url`` (http or https, naming a file) and ``sha256`` (64 hex digits), or an
    error naming the field."""
    if not isinstance(url, str) or not re.match(r"^https?://[^/]+/.*[^/]$", url):
        raise CharthouseError(f"{where}.url: expected an http(s) URL of a file, got {url!r}")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise CharthouseError(f"{where}.sha256: expected 64 lower-case hex digits, got {sha256!r}")
    return url, sha256


def cached(url: str, sha256: str, cache: Path, where: str) -> Path:
    """The file at ``url`` in ``cache``, downloaded unless a copy matching ``sha256``
    is there already."""
    target = cache / f"{sha256[:16]}-{url.rpartition('/')[2]}"
    if target.is_file() and file_sha256(target) == sha256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        _download(url, partial, where)
        digest = file_sha256(partial)
        if digest != sha256:
            raise CharthouseError(
                f"{where}.sha256: {url} has sha256 {digest}, not the pinned {sha256}"
            )
        partial.replace(target)  # atomic: a cut-short download is never taken for the file
    finally:
        partial.unlink(missing_ok=True)
    return target


def _download(url: str, out: Path, where: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response, out.open("wb") as dst:
            shutil.copyfileobj(response, dst, 1 << 20)
    except urllib.error.HTTPError as exc:
        hint = (
            " (the server no longer has it: pin a file it serves, with that file's sha256)"
            if exc.code in (404, 410)
            else ""
        )
        raise CharthouseError(f"{where}.url: {url} answered HTTP {exc.code}{hint}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CharthouseError(f"{where}.url: {url}: cannot download: {exc}") from exc
