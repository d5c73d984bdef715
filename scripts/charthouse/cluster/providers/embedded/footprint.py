"""A snapshot of everything on the host a real node could change, to compare before/after.

``down`` promises to leave the host as ``up`` found it. This makes the promise
checkable: processes of the node, mounts, network links, addresses and routes,
iptables (IPv4 and IPv6) and nftables rules, the sysctls the node's components
touch, its cgroups, and the directories they create outside the state dir.
Counters and other volatile fields are dropped so that two snapshots of an
unchanged host are equal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from charthouse.cluster.providers.embedded import hostnet, teardown
from charthouse.cluster.providers.embedded.kubelet import CGROUP_ROOT
from charthouse.proc import run

Snapshot = dict[str, list[str]]


def _lines(cmd: list[str]) -> list[str]:
    result = run(cmd, check=False, timeout=60)
    return result.stdout.splitlines() if result.returncode == 0 else [f"<{cmd[0]} failed>"]


def _iptables(binary: str) -> list[str]:
    lines = []
    for line in _lines([f"{binary}-save"]):
        if line.startswith("#"):
            continue
        lines.append(re.sub(r"\[\d+:\d+\]", "", line).rstrip())  # packet counters
    return lines


def _links() -> list[str]:
    links = json.loads(run(["ip", "-j", "link", "show"], timeout=30).stdout or "[]")
    return sorted(f"{link['ifname']} {','.join(sorted(link.get('flags', [])))}" for link in links)


def _addresses() -> list[str]:
    entries = json.loads(run(["ip", "-j", "addr", "show"], timeout=30).stdout or "[]")
    return sorted(
        f"{entry['ifname']} {info['local']}/{info['prefixlen']}"
        for entry in entries
        for info in entry.get("addr_info", [])
        if info.get("scope") != "link"  # IPv6 link-local addresses come and go
    )


def take(state_dir: Path) -> Snapshot:
    """The host's node-relevant state right now."""
    return {
        "processes": sorted(
            " ".join(teardown.cmdline(pid))
            for pid in teardown.node_processes(state_dir, CGROUP_ROOT)
        ),
        "mounts": teardown.mounts_under(state_dir) + teardown.mounts_under(Path("/run/containerd")),
        "links": _links(),
        "addresses": _addresses(),
        "routes": sorted(_lines(["ip", "-4", "route", "show", "table", "all"])),
        "routes6": sorted(
            line for line in _lines(["ip", "-6", "route", "show"]) if not line.startswith("fe80")
        ),
        "iptables": _iptables("iptables"),
        "ip6tables": _iptables("ip6tables"),
        "nftables": [
            line
            for line in _lines(["nft", "list", "ruleset"])
            if not line.strip().startswith("counter")
        ],
        "sysctls": [f"{k}={v}" for k, v in sorted(hostnet.read_sysctls().items())],
        "cgroups": [str(path) for path in teardown.cgroups_of(CGROUP_ROOT)],
        "host dirs": sorted(d for d in hostnet.HOST_DIRS if Path(d).exists()),
    }


def differences(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[str]]]:
    """Per aspect, what appeared and what disappeared (empty when the host is unchanged)."""
    changed = {}
    for aspect in before.keys() | after.keys():
        old, new = before.get(aspect, []), after.get(aspect, [])
        added = [line for line in new if line not in old]
        removed = [line for line in old if line not in new]
        if added or removed:
            changed[aspect] = {"added": added, "removed": removed}
    return changed
