"""kubelet for the real node ``charthouse-node-0``: its configuration and command line.

Choices that matter here, each for a reason:

* ``failCgroupV1: false``: these machines have cgroup v1 hierarchies, which
  kubelet 1.37 refuses by default; ``cgroupDriver: cgroupfs`` (no systemd), and
  pods under ``/charthouse`` in every hierarchy so teardown finds them;
* it listens on the node address (the bridge), where the API server reaches it
  for logs, exec and port-forward, with a serving certificate from our CA;
  client certificates from the same CA authenticate the API server;
* no host resolv.conf for pods: ``dnsPolicy: Default`` pods get no resolver at
  all, ClusterFirst pods only CoreDNS, which answers cluster names only;
* image GC and disk-pressure eviction effectively off: images come from the
  local registry and CI disks run full;
* ``localStorageCapacityIsolation`` on, so emptyDir ``sizeLimit`` is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charthouse.cluster.providers.embedded import network

CGROUP_FS = Path("/sys/fs/cgroup")

NODE_NAME = "charthouse-node-0"
CGROUP_ROOT = "/charthouse"


@dataclass(frozen=True)
class KubeletPaths:
    base: Path

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def config(self) -> Path:
        return self.base / "config.yaml"

    @property
    def kubeconfig(self) -> Path:
        return self.base / "kubeconfig"

    @property
    def pod_logs(self) -> Path:
        return self.base / "pod-logs"

    @property
    def resolv_conf(self) -> Path:
        return self.base / "resolv.conf"


def config(
    paths: KubeletPaths,
    *,
    port: int,
    healthz_port: int,
    runtime_socket: Path,
    ca_cert: Path,
    serving_cert: Path,
    serving_key: Path,
) -> dict[str, Any]:
    """The KubeletConfiguration (kubelet.config.k8s.io/v1beta1)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": str(network.NODE_IP),
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        # Callers must hold a certificate from the cluster CA; that is authorization enough
        # for a single-user test cluster (the API server's kubelet client is cluster-admin).
        "authorization": {"mode": "AlwaysAllow"},
        "tlsCertFile": str(serving_cert),
        "tlsPrivateKeyFile": str(serving_key),
        "containerRuntimeEndpoint": f"unix://{runtime_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": CGROUP_ROOT,
        "failCgroupV1": False,
        "clusterDNS": [str(network.DNS_SERVICE_IP)],
        "clusterDomain": network.CLUSTER_DOMAIN,
        "resolvConf": str(paths.resolv_conf),
        "podLogsDir": str(paths.pod_logs),
        "staticPodPath": "",
        "makeIPTablesUtilChains": False,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "localStorageCapacityIsolation": True,
        "maxPods": 110,
        "nodeStatusReportFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "enableServer": True,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }


def ensure_cgroup_root() -> None:
    """Create ``/charthouse`` in every cgroup hierarchy: kubelet insists that its
    ``cgroupRoot`` exists everywhere. cpuset children start with no CPUs and no memory
    nodes in cgroup v1, so they inherit the parent's. Teardown removes them."""
    unified = (CGROUP_FS / "cgroup.controllers").exists()
    hierarchies = [CGROUP_FS] if unified else [h for h in CGROUP_FS.iterdir() if h.is_dir()]
    for hierarchy in hierarchies:
        if not (hierarchy / "cgroup.procs").exists():
            continue  # not a mounted hierarchy (e.g. an empty directory)
        group = hierarchy / CGROUP_ROOT.lstrip("/")
        group.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            parent_value = hierarchy / name
            if parent_value.exists() and not (group / name).read_text().strip():
                (group / name).write_text(parent_value.read_text())
    if unified:
        controllers = (CGROUP_FS / "cgroup.controllers").read_text().split()
        wanted = " ".join(f"+{c}" for c in controllers)
        (CGROUP_FS / CGROUP_ROOT.lstrip("/") / "cgroup.subtree_control").write_text(wanted)


def argv(binary: Path, paths: KubeletPaths) -> list[str | Path]:
    return [
        binary,
        "--config",
        paths.config,
        "--kubeconfig",
        paths.kubeconfig,
        "--root-dir",
        paths.root,
        "--hostname-override",
        NODE_NAME,
        "--node-ip",
        str(network.NODE_IP),
        "--v",
        "1",
    ]
