"""A read-only HTTP server for a chart repository directory (what ``helm repo add`` needs).

Only GET and HEAD, only files with a chart-repository extension, never a path outside
the directory (``..``, encoded ``%2e%2e``/``%2f``, backslashes and NULs are refused),
no directory listings, no dot files. Caching headers (ETag from the content's sha256,
Last-Modified) let ``helm repo update`` get a 304 when nothing changed.

Optional basic auth reads an htpasswd-like file, one ``user:hash`` per line, where
hash is ``pbkdf2_sha256$<iterations>$<salt hex>$<digest hex>`` (stdlib only, no
bcrypt dependency); ``charthouse serve --hash-password`` prints such a line.
Comparisons are constant-time, and an unknown user costs as much as a known one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from charthouse.errors import CharthouseError

CONTENT_TYPES: Mapping[str, str] = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".tgz": "application/gzip",
    ".prov": "application/pgp-signature",
    ".json": "application/json",
}
ALLOWED = "GET, HEAD"
HASH_SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000


# -- passwords ---------------------------------------------------------------------------


def hash_password(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{HASH_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


@dataclass(frozen=True)
class Credential:
    iterations: int
    salt: bytes
    digest: bytes

    def matches(self, password: str) -> bool:
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations)
        return hmac.compare_digest(got, self.digest)


_DUMMY = Credential(DEFAULT_ITERATIONS, b"\0" * 16, b"\0" * 32)


def load_auth_file(path: Path) -> dict[str, Credential]:
    """Parse ``user:pbkdf2_sha256$iter$salt$digest`` lines; ``#`` comments allowed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CharthouseError(f"{path}: cannot read auth file: {exc.strerror}") from exc
    users: dict[str, Credential] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, encoded = line.partition(":")
        parts = encoded.split("$")
        if not sep or not user or len(parts) != 4 or parts[0] != HASH_SCHEME:
            raise CharthouseError(
                f"{path}:{number}: expected user:{HASH_SCHEME}$ITERATIONS$SALT$DIGEST "
                "(make one with `charthouse serve --hash-password`)"
            )
        try:
            users[user] = Credential(
                int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
            )
        except ValueError as exc:
            raise CharthouseError(f"{path}:{number}: {user}: malformed hash: {exc}") from exc
    if not users:
        raise CharthouseError(f"{path}: no users defined")
    return users


# -- request handling --------------------------------------------------------------------


class RepoServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for requests in flight (graceful stop)
    block_on_close = True

    def __init__(
        self, address: tuple[str, int], root: Path, users: Mapping[str, Credential] | None = None
    ) -> None:
        self.root = root.resolve()
        self.users = dict(users or {})
        self._etags: dict[tuple[str, int, int], str] = {}
        self._etag_lock = threading.Lock()
        super().__init__(address, RepoHandler)

    def etag(self, path: Path, stat: os.stat_result) -> str:
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._etag_lock:
            cached = self._etags.get(key)
        if cached is None:
            sha = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(block)
            cached = f'"{sha.hexdigest()[:32]}"'
            with self._etag_lock:
                self._etags[key] = cached
        return cached


def resolve_request_path(root: Path, raw: str) -> Path | None:
    """The file ``raw`` names under ``root``, or None for anything unsafe or unknown."""
    path = urlsplit(raw).path
    decoded = unquote(path, errors="strict")
    if "%" in decoded or "\\" in decoded or "\0" in decoded:
        return None  # double-encoded or Windows-style separators: never legitimate here
    parts = [p for p in decoded.split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    if resolved.suffix not in CONTENT_TYPES:
        return None
    return resolved


class RepoHandler(BaseHTTPRequestHandler):
    server: RepoServer
    protocol_version = "HTTP/1.1"
    server_version = "charthouse-serve"
    sys_version = ""
    user = "-"  # the authenticated user, for the request log

    def version_string(self) -> str:
        return self.server_version

    def __getattr__(self, name: str) -> Any:
        # Every method other than GET/HEAD (POST, PUT, DELETE, PROPFIND, ...) gets a 405.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", ALLOWED)
        self._finish_empty()

    def _finish_empty(self, body: bytes = b"") -> None:
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _fail(self, status: HTTPStatus) -> None:
        self.send_response(status)
        self._finish_empty(f"{status.value} {status.phrase}\n".encode())

    def _authorized(self) -> bool:
        if not self.server.users:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        user, password = "", ""
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = ""
        credential = self.server.users.get(user)
        ok = (credential or _DUMMY).matches(password) and credential is not None
        if ok:
            self.user = user
        return ok

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        if not self._authorized():
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="charthouse", charset="UTF-8"')
            self._finish_empty(b"401 Unauthorized\n")
            return
        try:
            path = resolve_request_path(self.server.root, self.path)
        except UnicodeDecodeError:
            path = None
        if path is None:
            self._fail(HTTPStatus.NOT_FOUND)
            return
        stat = path.stat()
        etag = self.server.etag(path, stat)
        last_modified = formatdate(stat.st_mtime, usegmt=True)
        if self._not_modified(etag, stat.st_mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", CONTENT_TYPES[path.suffix])
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.send_header("Cache-Control", "no-cache")  # revalidate: index.yaml changes
        self.end_headers()
        if send_body:
            with path.open("rb") as handle:
                while block := handle.read(1 << 16):
                    self.wfile.write(block)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        """If-None-Match wins over If-Modified-Since when both are sent (HTTP, RFC 9110)."""
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(mtime) <= since

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(
            f"{self.address_string()} {self.user} [{self.log_date_time_string()}] {format % args}\n"
        )
        sys.stderr.flush()


# -- running -----------------------------------------------------------------------------


def serve(
    root: Path, *, bind: str = "127.0.0.1", port: int = 8879, auth_file: Path | None = None
) -> int:
    """Serve until SIGTERM/SIGINT, then finish requests in flight and return 0."""
    if not root.is_dir():
        raise CharthouseError(f"{root}: not a directory (run `make release` first?)")
    if not (root / "index.yaml").is_file():
        print(f"charthouse serve: warning: {root}/index.yaml does not exist yet", file=sys.stderr)
    users = load_auth_file(auth_file) if auth_file else None
    try:
        server = RepoServer((bind, port), root, users)
    except OSError as exc:
        raise CharthouseError(f"cannot listen on {bind}:{port}: {exc.strerror}") from exc
    host_raw, actual = server.server_address[:2]
    host = host_raw.decode() if isinstance(host_raw, bytes) else host_raw
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            print(
                f"charthouse serve: {signal.Signals(signum).name}, shutting down",
                file=sys.stderr,
                flush=True,
            )
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    auth = " (basic auth)" if users else ""
    print(f"charthouse serve: serving {server.root} at http://{host}:{actual}/{auth}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
