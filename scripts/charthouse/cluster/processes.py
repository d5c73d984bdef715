"""Local processes of the embedded cluster: start detached, find again, stop, report crashes.

Components must outlive the ``charthouse cluster up`` that started them, so each
runs in its own session with its output in ``logs/<name>.log`` and its identity
in ``run/<name>.pid``. A pid file holds the pid *and* the kernel's start time of
that process: a recycled pid never makes us believe a component is alive, and
``down`` never signals a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from charthouse.errors import CharthouseError

LOG_TAIL_LINES = 25


class ComponentCrashedError(CharthouseError):
    """A component exited while we waited for it; the message carries its log tail."""

    def __init__(self, name: str, log: Path, detail: str) -> None:
        tail = log_tail(log)
        super().__init__(f"{name} {detail} (log: {log})\n--- last lines of {log.name} ---\n{tail}")
        self.component = name


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel picks it, so parallel runs don't clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


@dataclass(frozen=True)
class Component:
    """A named local process and the files that describe it."""

    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pidfile(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The live pid of this component, or None (no pid file, exited, or pid reused)."""
        try:
            pid_text, started = self.pidfile.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        return pid if _start_time(pid) == started else None

    def recorded(self) -> bool:
        """A pid file exists: the component was started and not stopped by ``down``."""
        return self.pidfile.exists()

    def start(
        self,
        argv: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start detached (own session, stdin closed, output to the log) and record it."""
        if self.pid() is not None:
            raise CharthouseError(f"{self.name} is already running (pid file {self.pidfile})")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.log.exists():
            # Keep the previous run's log for post-mortems.
            self.log.replace(self.log.with_suffix(".log.1"))
        with self.log.open("wb") as log:
            try:
                proc = subprocess.Popen(
                    [str(arg) for arg in argv],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=cwd,
                    env={**os.environ, **env} if env is not None else None,
                    start_new_session=True,
                )
            except OSError as exc:
                raise CharthouseError(f"{self.name}: cannot start {argv[0]}: {exc}") from exc
        started = _start_time(proc.pid)
        tmp = self.pidfile.with_name(f".{self.pidfile.name}.tmp")
        tmp.write_text(f"{proc.pid} {started}\n")
        tmp.replace(self.pidfile)
        return proc

    def check_alive(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        """Raise :class:`ComponentCrashedError` if the component has exited."""
        if proc is not None and proc.poll() is not None:
            status = f"exited with status {proc.returncode}"
            raise ComponentCrashedError(self.name, self.log, status)
        if proc is None and self.pid() is None:
            raise ComponentCrashedError(self.name, self.log, "is not running")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the component's process group, SIGKILL after ``timeout``; forget it."""
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _start_time(pid) is not None and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.05)
            if _start_time(pid) is not None:
                _signal_group(pid, signal.SIGKILL)
                while _start_time(pid) is not None:
                    _reap(pid)
                    time.sleep(0.05)
            _reap(pid)
        self.pidfile.unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # Each component leads its own session (start_new_session), so its group id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status if the component is our own child (tests run ``up`` in-process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_for(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    watch: Sequence[tuple[Component, subprocess.Popen[bytes] | None]] = (),
    interval: float = 0.05,
) -> None:
    """Poll ``check`` until true; fail fast, naming the component, if a watched one dies."""
    deadline = time.monotonic() + timeout
    while True:
        for component, proc in watch:
            component.check_alive(proc)
        if check():
            return
        if time.monotonic() > deadline:
            names = ", ".join(component.name for component, _ in watch)
            logs = "\n".join(
                f"--- last lines of {component.log} ---\n{log_tail(component.log, 10)}"
                for component, _ in watch
            )
            raise CharthouseError(
                f"timed out after {timeout:.0f}s waiting for {what}"
                + (f" (components: {names})\n{logs}" if watch else "")
            )
        time.sleep(interval)
