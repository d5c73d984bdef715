"""The node's footprint on the host network, set up by ``up`` and removed by ``down``.

What ``up`` changes, and only this:

* the bridge ``charthouse0`` (the pods' gateway, where the API server listens),
  with forwarding and ``route_localnet`` switched on for that interface only
  (the latter lets loopback LoadBalancer addresses be forwarded to pods);
* a route sending the Service range to the bridge, so a packet to a Service
  without endpoints never follows the default route off the machine;
* the chains ``CHARTHOUSE-FORWARD`` and ``CHARTHOUSE-INPUT`` in the mangle table
  (IPv4 and IPv6): pod traffic may go to other pods, to the API server and to
  the kubelet (which metrics-server scrapes), nowhere else;
* sysctls that kubelet, kube-proxy and the CNI bridge plugin insist on
  changing. Their values before the first ``up`` are recorded in
  ``baseline.json`` and written back by ``down`` — also after a crash, because
  the baseline stays until a ``down`` has restored it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from charthouse.cluster.providers.embedded import network
from charthouse.errors import CharthouseError
from charthouse.proc import run

# Sysctls something in the node may change: kubelet (vm.overcommit_memory,
# kernel.panic, kernel.panic_on_oops), the bridge plugin (ip_forward), kube-proxy
# (conntrack and route_localnet, which our kube-proxy config avoids).
WATCHED_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv6.conf.all.forwarding",
    "vm.overcommit_memory",
    "kernel.panic",
    "kernel.panic_on_oops",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
    "net.bridge.bridge-nf-call-iptables",
)
# Directories kubelet, containerd and libcni create outside our state dir whatever
# they are told; removed by ``down`` when they did not exist before the first ``up``.
HOST_DIRS = ("/var/log/containers", "/var/log/pods", "/run/containerd", "/var/lib/cni")
CONTAINMENT_TABLE = "mangle"
FORWARD_CHAIN = "CHARTHOUSE-FORWARD"
INPUT_CHAIN = "CHARTHOUSE-INPUT"
_IPTABLES = ("iptables", "ip6tables")


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctls(names: Iterable[str] = WATCHED_SYSCTLS) -> dict[str, str]:
    """Current values of the sysctls that exist on this kernel."""
    values = {}
    for name in names:
        with contextlib.suppress(OSError):
            values[name] = _sysctl_path(name).read_text().strip()
    return values


def write_sysctl(name: str, value: str) -> None:
    try:
        _sysctl_path(name).write_text(f"{value}\n")
    except OSError as exc:
        raise CharthouseError(f"cannot set sysctl {name}={value}: {exc.strerror}") from exc


@dataclass(frozen=True)
class Baseline:
    """The host's state before the first ``up``: what ``down`` restores."""

    path: Path

    def record(self) -> None:
        """Record the sysctls and nftables tables, unless a baseline is already pending."""
        if self.path.exists():
            return  # an earlier up was not brought down: its baseline is the true one
        data = {
            "sysctls": read_sysctls(),
            "nftTables": nft_tables(),
            "absentDirs": [d for d in HOST_DIRS if not Path(d).exists()],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path)

    def restore(self) -> list[str]:
        """Write back every recorded sysctl that changed, drop new empty nftables tables;
        then forget the baseline. Returns what was restored."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        restored = []
        current = read_sysctls(data.get("sysctls", {}))
        for name, value in data.get("sysctls", {}).items():
            if current.get(name) != value:
                with contextlib.suppress(CharthouseError):
                    write_sysctl(name, value)
                    restored.append(f"sysctl {name}={value}")
        before = {tuple(table) for table in data.get("nftTables", [])}
        for family, table in nft_tables():
            if (family, table) not in before and _nft_table_empty(family, table):
                run(["nft", "delete", "table", family, table], check=False, timeout=30)
                restored.append(f"nft table {family} {table} removed")
        for directory in data.get("absentDirs", []):
            if directory in HOST_DIRS and Path(directory).exists():
                shutil.rmtree(directory, ignore_errors=True)
                restored.append(f"{directory} removed")
        self.path.unlink(missing_ok=True)
        return restored


def nft_tables() -> list[list[str]]:
    """``[family, name]`` of every nftables table (iptables-nft creates some on first use)."""
    result = run(["nft", "-j", "list", "tables"], check=False, timeout=30)
    if result.returncode != 0:
        return []
    tables = []
    for item in json.loads(result.stdout).get("nftables", []):
        if "table" in item:
            tables.append([item["table"]["family"], item["table"]["name"]])
    return tables


def _nft_table_empty(family: str, table: str) -> bool:
    """No rule in any chain of the table (empty base chains don't count)."""
    result = run(["nft", "-j", "list", "table", family, table], check=False, timeout=30)
    if result.returncode != 0:
        return False
    return not any("rule" in item for item in json.loads(result.stdout).get("nftables", []))


# -- the bridge -------------------------------------------------------------------------------


def _link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False, timeout=30).returncode == 0


def check_address_plan() -> None:
    """Refuse to start when the host already routes our ranges through something else."""
    routes = json.loads(run(["ip", "-j", "-4", "route", "show"], timeout=30).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if route.get("dev") == network.BRIDGE or dst in ("default", ""):
            continue
        if network.overlaps(dst):
            raise CharthouseError(
                f"the host already routes {dst} via {route.get('dev')}, which overlaps the "
                f"embedded cluster's pod range {network.CLUSTER_CIDR} or Service range "
                f"{network.SERVICE_CIDR}; remove that route or use --provider kind/existing"
            )


def ensure_bridge() -> None:
    """Create the bridge with the node address, if absent; idempotent."""
    bridge, address = network.BRIDGE, f"{network.NODE_IP}/{network.NODE_POD_CIDR.prefixlen}"
    if not _link_exists(bridge):
        run(["ip", "link", "add", bridge, "type", "bridge"], timeout=30)
    # No IPv6 on the pod network: nothing to route, nothing to leak.
    write_sysctl(f"net.ipv6.conf.{bridge}.disable_ipv6", "1")
    write_sysctl(f"net.ipv4.conf.{bridge}.forwarding", "1")
    write_sysctl(f"net.ipv4.conf.{bridge}.route_localnet", "1")
    addresses = json.loads(run(["ip", "-j", "-4", "addr", "show", "dev", bridge]).stdout)
    have = {
        f"{info['local']}/{info['prefixlen']}"
        for entry in addresses
        for info in entry.get("addr_info", [])
    }
    if address not in have:
        run(["ip", "addr", "add", address, "dev", bridge], timeout=30)
    run(["ip", "link", "set", bridge, "up"], timeout=30)
    run(
        [
            "ip",
            "route",
            "replace",
            str(network.SERVICE_CIDR),
            "dev",
            bridge,
            "src",
            str(network.NODE_IP),
        ],
        timeout=30,
    )


def bridge_exists() -> bool:
    return _link_exists(network.BRIDGE)


def remove_bridge() -> bool:
    """Delete the bridge (its routes and addresses go with it); True if it existed."""
    if not _link_exists(network.BRIDGE):
        return False
    run(["ip", "link", "delete", network.BRIDGE], timeout=30)
    return True


# -- containment rules -----------------------------------------------------------------------


def _iptables(binary: str, *args: str, check: bool = True) -> bool:
    return run([binary, "-w", "5", *args], check=check, timeout=60).returncode == 0


def install_containment(apiserver_port: int, kubelet_port: int) -> None:
    """Pods talk to pods, to the API server and to the kubelet; every other packet from
    a pod is dropped.

    The kubelet's port is open to pods as on any cluster, because metrics-server (a
    pod) scrapes its ``/metrics/resource``; the kubelet still refuses every caller
    without a client certificate from the cluster CA (no anonymous or token access).

    The rules live in the ``mangle`` table, which the kernel consults before ``filter``
    and which none of the node's components writes to: kube-proxy and kubelet prepend
    their own ACCEPT rules to filter's FORWARD and INPUT, but none of them can let a
    packet through that mangle has dropped. They are rebuilt on every ``up``.
    """
    bridge = network.BRIDGE
    for binary in _IPTABLES:
        for chain, parent in ((FORWARD_CHAIN, "FORWARD"), (INPUT_CHAIN, "INPUT")):
            if not _iptables(binary, "-t", CONTAINMENT_TABLE, "-N", chain, check=False):
                _iptables(binary, "-t", CONTAINMENT_TABLE, "-F", chain)
            jump = ("-j", chain)
            while _iptables(binary, "-t", CONTAINMENT_TABLE, "-D", parent, *jump, check=False):
                pass
            _iptables(binary, "-t", CONTAINMENT_TABLE, "-I", parent, "1", *jump)
        # Forwarding: within the bridge only (pod -> pod, pod -> Service -> pod).
        rule = ("-t", CONTAINMENT_TABLE, "-A")
        _iptables(binary, *rule, FORWARD_CHAIN, "-i", bridge, "-o", bridge, "-j", "RETURN")
        _iptables(binary, *rule, FORWARD_CHAIN, "-i", bridge, "-j", "DROP")
        _iptables(binary, *rule, FORWARD_CHAIN, "-o", bridge, "-j", "DROP")
        # Into the host from pods: replies, the API server (behind the kubernetes
        # Service) and the kubelet. Nothing else the host runs is a pod's business.
        _iptables(
            binary, *rule, INPUT_CHAIN, "-i", bridge, "-m", "conntrack", "--ctstate",
            "ESTABLISHED,RELATED", "-j", "RETURN",
        )  # fmt: skip
        if binary == "iptables":
            for port in (apiserver_port, kubelet_port):
                _iptables(
                    binary, *rule, INPUT_CHAIN, "-i", bridge, "-d", str(network.NODE_IP),
                    "-p", "tcp", "--dport", str(port), "-j", "RETURN",
                )  # fmt: skip
        _iptables(binary, *rule, INPUT_CHAIN, "-i", bridge, "-j", "DROP")


def purge_chains(prefixes: Iterable[str]) -> list[str]:
    """Remove every chain whose name starts with one of ``prefixes`` and every rule that
    jumps to one, in all tables, IPv4 and IPv6 (kube-proxy's, kubelet's, ours)."""
    removed = []
    wanted = tuple(prefixes)
    for binary in _IPTABLES:
        for table in ("filter", "nat", "mangle", "raw"):
            listing = run([binary, "-w", "5", "-t", table, "-S"], check=False, timeout=60).stdout
            chains = [
                line.split()[1]
                for line in listing.splitlines()
                if line.startswith("-N ") and line.split()[1].startswith(wanted)
            ]
            if not chains:
                continue
            # Rules in built-in chains that jump to ours: delete by specification.
            for line in listing.splitlines():
                parts = line.split()
                if parts[:1] == ["-A"] and parts[1] not in chains and _jumps_to(parts, chains):
                    _iptables(binary, "-t", table, "-D", *parts[1:], check=False)
            for chain in chains:
                _iptables(binary, "-t", table, "-F", chain, check=False)
            for chain in chains:
                if _iptables(binary, "-t", table, "-X", chain, check=False):
                    removed.append(f"{binary} -t {table} {chain}")
    return removed


def _jumps_to(parts: list[str], chains: list[str]) -> bool:
    for flag in ("-j", "-g"):
        if flag in parts:
            index = parts.index(flag)
            if index + 1 < len(parts) and parts[index + 1] in chains:
                return True
    return False
