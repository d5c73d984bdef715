"""containerd for the real node: its config, and registry mirrors onto the local registry.

Everything containerd keeps lives under ``<state>/node/containerd`` (root, state,
socket), except what containerd itself hard-codes: shim sockets under
/run/containerd/s and the CNI result cache under /var/lib/cni, which teardown
removes by name (see :mod:`.teardown`).

Settings that matter on these machines, each for a reason seen here:

* ``restrict_oom_score_adj``: without CAP_SYS_RESOURCE, runc cannot lower a
  process's oom_score_adj and every sandbox fails with a misleading
  "can't get final child's PID from pipe: EOF";
* ``netns_mounts_under_state_dir``: network namespaces are mounted in our state
  dir, so teardown finds and unmounts them;
* NRI disabled, no TCP CRI service, the streaming server on 127.0.0.1;
* every image registry the charts name is mirrored by the local registry
  (``hosts.toml`` per host), so charts install with their default references
  and nothing is pulled from outside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CONFIG_VERSION = 4
NAMESPACE = "k8s.io"


@dataclass(frozen=True)
class ContainerdPaths:
    base: Path

    @property
    def config(self) -> Path:
        return self.base / "config.toml"

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def socket(self) -> Path:
        return self.base / "containerd.sock"

    @property
    def hosts_dir(self) -> Path:
        return self.base / "certs.d"


def _q(value: str | Path) -> str:
    """A TOML basic string."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def config(
    paths: ContainerdPaths,
    *,
    runc: Path,
    shim: Path,
    cni_bin_dir: Path,
    cni_conf_dir: Path,
    sandbox_image: str,
) -> str:
    """The containerd config file (version 4, containerd 2.4's own)."""
    cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
    cri_images = "plugins.'io.containerd.cri.v1.images'"
    return f"""\
# Written by charthouse for the embedded cluster's real node; regenerated on every up.
version = {CONFIG_VERSION}
root = {_q(paths.root)}
state = {_q(paths.state)}
# Never read the host's /etc/containerd/conf.d (containerd's default): only this file counts.
imports = []
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

# Version 4 configures each server as a plugin; unset, they default to /run/containerd.
[plugins.'io.containerd.server.v1.grpc']
  address = {_q(paths.socket)}

[plugins.'io.containerd.server.v1.ttrpc']
  address = {_q(paths.base / "containerd.sock.ttrpc")}

[{cri_images}]
  snapshotter = "overlayfs"
  # Images come from the local registry; GC would only force re-pulls.
  [{cri_images}.pinned_images]
    sandbox = {_q(sandbox_image)}
  [{cri_images}.registry]
    config_path = {_q(paths.hosts_dir)}

[{cri_runtime}]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  cdi_spec_dirs = []
  [{cri_runtime}.containerd]
    default_runtime_name = "runc"
    [{cri_runtime}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      runtime_path = {_q(shim)}
      [{cri_runtime}.containerd.runtimes.runc.options]
        BinaryName = {_q(runc)}
        SystemdCgroup = false
  [{cri_runtime}.cni]
    bin_dirs = [{_q(cni_bin_dir)}]
    conf_dir = {_q(cni_conf_dir)}
    max_conf_num = 1

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""


def hosts_toml(registry: str) -> str:
    """``hosts.toml`` making ``registry`` (``127.0.0.1:PORT``, plain HTTP) the only source.

    ``server`` is the local registry too: containerd falls back to ``server`` when the
    hosts fail, and that must never be the upstream registry.
    """
    return f"""\
# Written by charthouse: pulls for this registry go to the local registry only.
server = "http://{registry}"

[host."http://{registry}"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
"""


def write_mirrors(hosts_dir: Path, registry: str, upstreams: Iterable[str]) -> None:
    """One ``<host>/hosts.toml`` per upstream registry, all pointing at ``registry``."""
    for host in (*upstreams, registry):
        directory = hosts_dir / host
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "hosts.toml"
        tmp = target.with_name(".hosts.toml.tmp")
        tmp.write_text(hosts_toml(registry))
        tmp.replace(target)


def argv(binary: Path, paths: ContainerdPaths) -> list[str | Path]:
    return [binary, "--config", paths.config, "--log-level", "warn"]
