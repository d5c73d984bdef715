"""Real servers started by tests on 127.0.0.1: programs (a chart repository, an OCI
registry) and in-process HTTP handlers (a stand-in API server, a download mirror)."""

from __future__ import annotations

import http.server
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest


def free_port() -> int:
    """A port nothing listens on right now on 127.0.0.1 (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def handler_port(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` from a thread on a port of 127.0.0.1 the kernel picks, until
    the block ends; yields the port."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def serving(
    argv: Sequence[str | Path],
    ready_url: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block ends, once ``ready_url`` answers 200; a server that
    exits or stays silent until ``timeout`` fails the test with its stderr."""
    with tempfile.TemporaryFile() as log:  # not a pipe: a chatty server never blocks on it
        proc = subprocess.Popen(
            [str(arg) for arg in argv],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _wait_until_ready(proc, ready_url, timeout, log)
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=15)


def _wait_until_ready(
    proc: subprocess.Popen[bytes], url: str, timeout: float, log: IO[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(timeout=15)
            log.seek(0)
            stderr = log.read().decode(errors="replace")
            program = proc.args[0] if isinstance(proc.args, list) else proc.args
            pytest.fail(f"{program!s} did not serve {url} (exit {proc.returncode}):\n{stderr}")
        time.sleep(0.1)
