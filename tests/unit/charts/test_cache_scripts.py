"""The cache chart's shell scripts against a real local server, with the rendered valkey.conf.

``files/start.sh`` (the password from a file, handed over on stdin), ``files/probe.sh``
(liveness and readiness) and ``files/test-connection.sh`` (``helm test``) run here as
they run in the pod, against a real server listening on 127.0.0.1 only; so does the
stack chart's REDIS_URL check (``charts/stack/files/test-cache.sh``). The server is
``valkey-server`` when installed; Debian bookworm has no Valkey, so its ``redis-server``
7.0 (package ``redis-tools`` ships the same binary as ``redis-check-rdb``) stands in: it
is the code Valkey forked from, with the same config parser, ``-`` (config from
stdin), ``\\xHH`` escapes, REDISCLI_AUTH and LOADING/BUSY replies. Skipped when neither
is installed.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.rendering import render

CHARTS = Path(__file__).resolve().parents[3] / "charts"
FILES = CHARTS / "cache" / "files"
# A password no naive quoting survives: quotes, a backslash escape that is not one,
# spaces, '#', non-ASCII text and a trailing newline (as `kubectl create secret
# --from-file` leaves it).
TRICKY_PASSWORD = 'p@ss "w\\x41rd" \'é # ünï\n'.encode()


def _first_on_path(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


SERVER = _first_on_path("valkey-server", "redis-server", "redis-check-rdb")
CLI = _first_on_path("valkey-cli", "redis-cli")
pytestmark = pytest.mark.skipif(
    SERVER is None or CLI is None,
    reason="no valkey-server/valkey-cli (or Debian's redis-tools stand-in) installed",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalCache:
    """A server started by the chart's start.sh, as in the pod, on 127.0.0.1:<port>."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def password_file(self) -> Path:
        return self.root / "secret" / "password"

    @property
    def env(self) -> dict[str, str]:
        # valkey-server and valkey-cli by those names, whichever binaries stand in.
        return {
            **os.environ,
            "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}",
            "CHARTHOUSE_PASSWORD_FILE": str(self.password_file),
            "CHARTHOUSE_CONFIG_FILE": str(self.root / "local.conf"),
            "CHARTHOUSE_PORT": str(self.port),
            "CACHE_HOST": "127.0.0.1",
            "CACHE_PORT": str(self.port),
        }

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["sh", str(FILES / "start.sh")],
            env=self.env,
            stdout=(self.root / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while self.probe("ready").returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {(self.root / 'server.log').read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, as the kubelet sends it: the server flushes the append-only file."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self.process = None

    def run(self, script: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(FILES / script), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def probe(self, mode: str) -> subprocess.CompletedProcess[str]:
        return self.run("probe.sh", mode)

    def cli(self, *args: str, password: bytes | None = None) -> str:
        env = dict(self.env)
        env.pop("REDISCLI_AUTH", None)
        command = [
            CLI or "valkey-cli",
            "--no-auth-warning",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        if password is not None:
            env["REDISCLI_AUTH"] = password.decode()
        result = subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        return (result.stdout + result.stderr).strip()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[LocalCache]:
    """The chart's rendered valkey.conf with its three pod-specific lines moved to this
    machine (127.0.0.1 instead of every address, a free port, a temp dir for /data), plus
    a low busy-reply threshold so a long script turns the server BUSY quickly."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "valkey-server").symlink_to(SERVER or "")
    (bin_dir / "valkey-cli").symlink_to(CLI or "")
    (tmp_path / "data").mkdir()
    server = LocalCache(tmp_path, _free_port())
    local = {"bind": "127.0.0.1", "port": str(server.port), "dir": str(tmp_path / "data")}
    rendered = render("cache").get("ConfigMap", "rel-cache-config")["data"]["valkey.conf"]
    lines = []
    for line in rendered.splitlines():
        key = line.split(" ", 1)[0]
        lines.append(f"{key} {local.pop(key)}" if key in local else line)
    assert local == {}, f"the rendered valkey.conf sets no {sorted(local)}"
    lines.append("busy-reply-threshold 100")
    (tmp_path / "local.conf").write_text("\n".join(lines) + "\n")
    server.password_file.parent.mkdir()
    server.password_file.write_bytes(TRICKY_PASSWORD)
    try:
        yield server
    finally:
        server.stop()


def test_the_server_takes_the_exact_password_from_the_file(cache: LocalCache) -> None:
    cache.start()
    assert cache.cli("PING").startswith("NOAUTH")
    assert cache.cli("PING", password=TRICKY_PASSWORD) == "PONG"
    assert "WRONGPASS" in cache.cli("PING", password=TRICKY_PASSWORD.rstrip(b"\n"))
    # The rendered config is the one in force: append-only file on, memory cap set.
    assert cache.cli("CONFIG", "GET", "appendonly", password=TRICKY_PASSWORD).split() == [
        "appendonly",
        "yes",
    ]
    assert cache.cli("CONFIG", "GET", "maxmemory", password=TRICKY_PASSWORD).split() == [
        "maxmemory",
        str(256 * 1024 * 1024),
    ]


def test_the_password_is_in_no_command_line_environment_or_written_file(
    cache: LocalCache,
) -> None:
    cache.start()
    assert cache.process is not None
    proc = Path("/proc") / str(cache.process.pid)  # start.sh exec'd the server: same pid
    secret = TRICKY_PASSWORD.rstrip(b"\n")
    assert b"server" in (proc / "cmdline").read_bytes()
    assert secret not in (proc / "cmdline").read_bytes()
    assert secret not in (proc / "environ").read_bytes()
    cache.cli("SET", "k", "v", password=TRICKY_PASSWORD)
    cache.stop()
    written = [
        p for p in cache.root.rglob("*") if p.is_file() and not {"secret", "bin"} & set(p.parts)
    ]
    assert any("appendonly" in p.name for p in written)
    assert all(secret not in p.read_bytes() for p in written), written


def test_a_key_survives_a_restart_through_the_append_only_file(cache: LocalCache) -> None:
    cache.start()
    assert cache.cli("SET", "order:1", "paid", password=TRICKY_PASSWORD) == "OK"
    cache.stop()
    assert cache.cli("PING").startswith("Could not connect")
    cache.start()
    assert cache.cli("GET", "order:1", password=TRICKY_PASSWORD) == "paid"


def test_a_rotated_password_applies_at_the_next_start(cache: LocalCache) -> None:
    cache.start()
    cache.password_file.write_bytes(b"rotated")
    # The running server keeps the old password: liveness fails, so the kubelet restarts it.
    assert cache.probe("live").returncode == 1
    cache.stop()
    cache.start()
    assert cache.cli("PING", password=b"rotated") == "PONG"


def test_probes_tell_a_busy_server_from_a_dead_one(cache: LocalCache) -> None:
    cache.start()
    assert cache.probe("live").returncode == 0
    assert cache.probe("ready").returncode == 0
    # A script that runs past busy-reply-threshold: the server answers BUSY.
    busy = subprocess.Popen(
        [
            CLI or "valkey-cli",
            "-h",
            "127.0.0.1",
            "-p",
            str(cache.port),
            "EVAL",
            "while true do end",
            "0",
        ],
        env={**cache.env, "REDISCLI_AUTH": TRICKY_PASSWORD.decode()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while "BUSY" not in (ready := cache.probe("ready")).stderr:
            assert time.monotonic() < deadline, ready.stderr
            time.sleep(0.1)
        assert ready.returncode == 1  # out of the Service...
        assert cache.probe("live").returncode == 0  # ...but not restarted
    finally:
        cache.cli("SCRIPT", "KILL", password=TRICKY_PASSWORD)
        busy.wait(timeout=10)
    assert cache.probe("ready").returncode == 0
    cache.stop()
    dead = cache.probe("live")
    assert dead.returncode == 1 and "Could not connect" in dead.stderr


def test_helm_test_script_passes_and_catches_an_open_server(cache: LocalCache) -> None:
    cache.start()
    passed = cache.run("test-connection.sh")
    assert passed.returncode == 0, passed.stderr
    assert "refused" in passed.stdout and "PONG" in passed.stdout
    cache.cli("CONFIG", "SET", "requirepass", "", password=TRICKY_PASSWORD)
    failed = cache.run("test-connection.sh")
    assert failed.returncode == 1
    assert "without the password the server answered: PONG" in failed.stderr


def test_start_refuses_an_empty_password(cache: LocalCache) -> None:
    cache.password_file.write_bytes(b"")
    result = cache.run("start.sh")
    assert result.returncode == 1
    assert "empty; refusing to start without a password" in result.stderr


def test_the_stacks_redis_url_check_decodes_the_uri_the_cache_chart_writes(
    cache: LocalCache,
) -> None:
    """charts/stack's helm test takes REDIS_URL apart in sh; the URI is the cache chart's
    own, with the tricky password percent-encoded, pointed at the local server."""
    cache.start()
    secret = render("cache", {"auth": {"password": TRICKY_PASSWORD.decode()}}).get(
        "Secret", "rel-cache"
    )
    uri = base64.b64decode(secret["data"]["uri"]).decode()
    local_uri = uri.replace("rel-cache.default.svc.cluster.local:6379", f"127.0.0.1:{cache.port}")
    assert local_uri != uri

    def check(url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(CHARTS / "stack" / "files" / "test-cache.sh")],
            env={**cache.env, "REDIS_URL": url, "CHARTHOUSE_TEST_TIMEOUT": "3"},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    passed = check(local_uri)
    assert passed.returncode == 0, passed.stderr
    assert f"127.0.0.1:{cache.port} (db 0) with its password: PONG" in passed.stdout
    assert check("").returncode == 1  # the app would run without the cache
    cache.cli("CONFIG", "SET", "requirepass", "other", password=TRICKY_PASSWORD)
    wrong = check(local_uri)
    assert wrong.returncode == 1
    assert "PING answered:" in wrong.stderr and "PONG" not in wrong.stdout
