"""What a real node needs from this machine, and what is missing when it cannot run."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def real_node_problems() -> list[str]:
    """Why a real node cannot run here (empty when it can): kubelet, containerd and runc
    need Linux, root, overlayfs and cgroups."""
    if not sys.platform.startswith("linux"):
        return [f"Linux (this is {sys.platform})"]
    problems = []
    if os.geteuid() != 0:
        problems.append("root (containerd, runc and the node's network need it)")
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        filesystems = ""
    if "overlay" not in filesystems:
        problems.append("overlayfs in the kernel (container root filesystems)")
    if not Path("/sys/fs/cgroup").is_dir() or not any(Path("/sys/fs/cgroup").iterdir()):
        problems.append("cgroups mounted at /sys/fs/cgroup")
    if not os.access("/proc/sys/net/ipv4/ip_forward", os.W_OK):
        problems.append("a writable /proc/sys (the node's network settings)")
    return problems
