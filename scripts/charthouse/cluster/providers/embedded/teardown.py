"""Finding and removing what a real node leaves on the host, even after a SIGKILL.

Nothing here trusts pid files alone: a node killed without ``down`` leaves
container shims (reparented to PID 1), container processes, mounts under the
state dir, cgroups, a bridge and rules. Each function discovers its leftovers
from the kernel (``/proc``, mountinfo, cgroupfs) by the marks our node puts on
them: the state dir's path and the ``/charthouse`` cgroup root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from charthouse.proc import run

CGROUP_FS = Path("/sys/fs/cgroup")


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _cgroups(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return []


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def node_processes(state_dir: Path, cgroup_root: str) -> list[int]:
    """Processes of the node: anything whose command line names the state dir (containerd,
    shims, kubelet, kube-proxy) or that lives in the node's cgroups (containers)."""
    marker = str(state_dir)
    cgroup_mark = f":{cgroup_root}/"
    own = os.getpid()
    found = []
    for pid in _pids():
        if pid == own:
            continue
        if any(marker in arg for arg in cmdline(pid)) or any(
            cgroup_mark in line or line.endswith(f":{cgroup_root}") for line in _cgroups(pid)
        ):
            found.append(pid)
    return found


def kill(pids: Iterable[int], *, grace: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL what is left after ``grace`` seconds; return who was signalled."""
    targets = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in targets):
        time.sleep(0.05)
    for pid in targets:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in targets):
        time.sleep(0.05)
    return targets


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below ``prefix``, deepest first (the order to unmount them)."""
    root = str(prefix).rstrip("/")
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == root or point.startswith(root + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: (p.count("/"), p), reverse=True)


def unmount_under(prefix: Path) -> list[str]:
    """Unmount everything at or below ``prefix`` (lazily if busy); return what was unmounted."""
    done = []
    for _ in range(3):  # a mount can hide another at the same point
        points = mounts_under(prefix)
        if not points:
            break
        for point in points:
            result = run(["umount", point], check=False, timeout=60)
            if result.returncode != 0:
                run(["umount", "-l", point], check=False, timeout=60)
            done.append(point)
    return done


def cgroups_of(cgroup_root: str) -> list[Path]:
    """The node's cgroup directories in every hierarchy, deepest first."""
    found = []
    for hierarchy in CGROUP_FS.iterdir() if CGROUP_FS.is_dir() else ():
        base = hierarchy / cgroup_root.lstrip("/")
        if base.is_dir():
            found += [Path(d) for d, _subdirs, _files in os.walk(base)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def remove_cgroups(cgroup_root: str) -> list[str]:
    """rmdir every (empty) node cgroup, children first."""
    removed = []
    for directory in cgroups_of(cgroup_root):
        with contextlib.suppress(OSError):
            directory.rmdir()
            removed.append(str(directory))
    return removed


def remove_cni_cache(network_name: str, cache_dir: Path = Path("/var/lib/cni")) -> list[str]:
    """libcni's result cache for our network (containerd gives it no other place)."""
    removed = []
    results = cache_dir / "results"
    for entry in results.glob(f"{network_name}-*") if results.is_dir() else ():
        entry.unlink(missing_ok=True)
        removed.append(str(entry))
    return removed
