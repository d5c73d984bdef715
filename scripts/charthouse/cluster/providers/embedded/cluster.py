"""The embedded provider: a real control plane and a real node as local processes.

Two kinds of node (``--nodes``, recorded per cluster):

* ``real`` (the default where it can run: Linux, root): containerd + runc +
  kubelet ``charthouse-node-0`` + CNI on our own bridge + kube-proxy +
  CoreDNS, images from a local registry mirroring docker.io and friends,
  volumes as directories, LoadBalancer addresses on loopback. Containers run.
* ``kwok``: three simulated nodes for scale scenarios (:mod:`.kwok`). Nothing
  runs: pods are marked Ready, Jobs and ``helm test`` pods Succeeded.

Everything lives in one directory::

    <dir>/pki/            CA, serving and client certificates, service-account keys
    <dir>/etcd/           etcd data (kept between up/down: a warm ``up`` takes seconds)
    <dir>/node/           containerd, kubelet, CNI and kube-proxy state of the real node
    <dir>/volumes/        PersistentVolume data (kept until its claim is deleted)
    <dir>/logs/<name>.log one log per component (the previous run's in <name>.log.1)
    <dir>/run/<name>.pid  pid + start time of each running component
    <dir>/kubeconfig      admin kubeconfig (user in group system:masters)
    <dir>/state.json      provider, node kind and ports of the current run
    <dir>/baseline.json   the host's state before ``up`` changed it (see :mod:`.hostnet`)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from charthouse import atomicfile
from charthouse.cluster import kubeconfig as kubeconfigs
from charthouse.cluster.api import ApiError, Client
from charthouse.cluster.processes import Component, free_port, log_tail, port_open, wait_for
from charthouse.cluster.providers.base import Status
from charthouse.cluster.providers.embedded import (
    cni,
    containerd,
    controlplane,
    dns,
    hostnet,
    kubelet,
    kubeproxy,
    kwok,
    network,
    nodeimages,
    registry,
    requirements,
    teardown,
)
from charthouse.cluster.providers.embedded.storage import storage_objects
from charthouse.errors import CharthouseError
from charthouse.locks import file_lock

NODE_KINDS = ("auto", "real", "kwok")
START_TIMEOUT = 120.0
_HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Start order per node kind; ``down`` stops in reverse.
_CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
COMPONENTS = {
    "real": (
        "registry",
        *_CONTROL_PLANE,
        "containerd",
        "kubelet",
        "kube-proxy",
        "controllers",
    ),
    "kwok": (*_CONTROL_PLANE, "kwok", "controllers"),
}
# Pinned tools each node kind needs (names in ci/tools.yaml).
TOOLS = {
    "real": (
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "containerd",
        "containerd-shim-runc-v2",
        "runc",
        "crictl",
        "registry",
        *cni.PLUGINS.values(),
    ),
    "kwok": ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"),
}
# Recorded port name -> the component listening on it.
_PORT_OWNERS = {
    "etcd": "etcd",
    "etcd-peer": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kwok": "kwok",
    "registry": "registry",
    "kubelet": "kubelet",
    "kubelet-healthz": "kubelet",
    "kube-proxy-healthz": "kube-proxy",
    "kube-proxy-metrics": "kube-proxy",
}

ToolResolver = Callable[[tuple[str, ...]], dict[str, Path]]


def _ensure_tools(names: tuple[str, ...]) -> dict[str, Path]:
    from charthouse.tools import ensure_tool

    return {name: ensure_tool(name) for name in names}


class EmbeddedCluster:
    """``charthouse cluster up --provider embedded`` (see the module docstring)."""

    name = "embedded"

    def __init__(
        self,
        directory: Path,
        *,
        nodes: str = "auto",
        tools: ToolResolver = _ensure_tools,
    ) -> None:
        if nodes not in NODE_KINDS:
            raise CharthouseError(
                f"--nodes: unknown node kind {nodes!r} (choose from {', '.join(NODE_KINDS)})"
            )
        self.dir = directory
        self.requested_nodes = nodes
        self.pki_dir = directory / "pki"
        self.etcd_dir = directory / "etcd"
        self.node_dir = directory / "node"
        self.volumes_dir = directory / "volumes"
        self.log_dir = directory / "logs"
        self.run_dir = directory / "run"
        self.state_file = directory / "state.json"
        self.baseline = hostnet.Baseline(directory / "baseline.json")
        self.containerd = containerd.ContainerdPaths(self.node_dir / "containerd")
        self.kubelet = kubelet.KubeletPaths(self.node_dir / "kubelet")
        self._tools = tools

    # -- public interface -------------------------------------------------------------

    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def component(self, name: str) -> Component:
        return Component(name, self.run_dir, self.log_dir)

    def registry_address(self) -> str | None:
        """Where this cluster's image registry listens (127.0.0.1:PORT) while its
        process runs: pushes go there, never to a second registry on its storage."""
        port = self._state().get("ports", {}).get("registry")
        if not isinstance(port, int) or self.component("registry").pid() is None:
            return None
        return f"127.0.0.1:{port}"

    def refresh_node_images(self, served: Mapping[str, str]) -> list[str]:
        """Pull again each reference the node holds under another image ID than the
        registry serves (``served``: reference -> image ID); the references pulled.
        Nothing to do while containerd is not running."""
        if self.component("containerd").pid() is None or not self.containerd.socket.exists():
            return []
        crictl = self.node_dir / "bin" / "crictl"
        pulled = nodeimages.refresh(crictl, self.containerd.socket, served)
        for ref in pulled:
            print(f"charthouse: the node pulled {ref} again (rebuilt)", file=sys.stderr, flush=True)
        return pulled

    @property
    def nodes(self) -> str:
        """The node kind of this cluster: recorded by its last ``up``, else what fits here."""
        recorded = self._state().get("nodes")
        if self.requested_nodes != "auto":
            return self.requested_nodes
        if recorded in COMPONENTS:
            return str(recorded)
        return "real" if not requirements.real_node_problems() else "kwok"

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One ``up``/``down`` at a time per cluster, across processes (two shells, pytest
        workers): a second ``up`` waits, then finds the cluster healthy and returns."""
        with file_lock(self.dir.with_name(f".{self.dir.name}.lock")):
            yield

    def up(self) -> Path:
        with self._exclusive():
            return self._up()

    def down(self) -> None:
        """Stop every component and remove what the node put on the host."""
        with self._exclusive():
            self._down()

    def status(self) -> Status:
        components: dict[str, str] = {}
        problems: list[str] = []
        for name in COMPONENTS[self.nodes]:
            component = self.component(name)
            pid = component.pid()
            if pid is not None:
                components[name] = f"running (pid {pid})"
            elif component.recorded():
                components[name] = "CRASHED"
                problems.append(
                    f"{name} is not running (log: {component.log})\n{log_tail(component.log, 10)}"
                )
            else:
                components[name] = "stopped"
        running = all(state.startswith("running") for state in components.values())
        if running and not self._client().healthy():
            problems.append("kube-apiserver does not answer /readyz")
            running = False
        components = {"nodes": self.nodes, **components}
        return Status(
            "embedded", running, self.kubeconfig() if running else None, components, problems
        )

    # -- up -----------------------------------------------------------------------------

    def _up(self) -> Path:
        nodes = self._resolve_nodes()
        if self._healthy(nodes):
            return self.kubeconfig()
        self._down()  # a partial cluster (crashed component, stale pid files): start clean
        binaries = self._tools(TOOLS[nodes])
        controlplane.ensure_pki(self.pki_dir)
        ports = self._pick_ports(nodes)
        server = (
            f"https://{controlplane.apiserver_address(nodes == 'real')}:{ports['kube-apiserver']}"
        )
        self._write_kubeconfigs(server)
        self._write_state(nodes, ports, server)
        started_at = time.time()
        try:
            if nodes == "real":
                self._start_real(binaries, ports, server, started_at)
            else:
                self._start_kwok(binaries, ports, server, started_at)
        except BaseException:
            self._down()
            raise
        return self.kubeconfig()

    def _resolve_nodes(self) -> str:
        nodes = self.nodes
        if nodes == "real":
            problems = requirements.real_node_problems()
            if problems:
                hint = (
                    "a real node needs: " + "; ".join(problems) + ". Use --nodes kwok "
                    "(simulated nodes: no container runs) or --provider kind/existing."
                )
                if self.requested_nodes == "real":
                    raise CharthouseError(hint)
            return nodes
        if self.requested_nodes == "auto":
            print(
                "charthouse: no real node here ("
                + "; ".join(requirements.real_node_problems())
                + "): using kwok nodes. Pods are marked Ready and Jobs Succeeded without "
                "running; images, probes and helm test commands are NOT exercised.",
                file=sys.stderr,
            )
        return nodes

    def _pick_ports(self, nodes: str) -> dict[str, int]:
        """Last run's ports when still free (the admin kubeconfig stays valid), otherwise
        new ones from the kernel."""
        previous = self._state().get("ports", {})
        names = ["etcd", "etcd-peer", "kube-apiserver"]
        names += (
            ["registry", "kubelet", "kubelet-healthz", "kube-proxy-healthz", "kube-proxy-metrics"]
            if nodes == "real"
            else ["kwok"]
        )
        host = controlplane.apiserver_address(nodes == "real")
        chosen: dict[str, int] = {}
        for name in names:
            old = previous.get(name)
            address = host if name in ("kube-apiserver", "kubelet") else "127.0.0.1"
            if old and old not in chosen.values() and not _listening(address, old):
                chosen[name] = old
            else:
                port = free_port()
                while port in chosen.values():
                    port = free_port()
                chosen[name] = port
        return chosen

    def _start_control_plane(
        self,
        binaries: dict[str, Path],
        ports: dict[str, int],
        server: str,
        watched: list[tuple[Component, subprocess.Popen[bytes] | None]],
        *,
        real_node: bool,
    ) -> Client:
        cp_ports = controlplane.Ports(ports["etcd"], ports["etcd-peer"], ports["kube-apiserver"])
        self._start(
            watched,
            "etcd",
            controlplane.etcd_args(binaries["etcd"], self.pki_dir, self.etcd_dir, cp_ports),
        )
        self._start(
            watched,
            "kube-apiserver",
            controlplane.apiserver_args(
                binaries["kube-apiserver"], self.pki_dir, cp_ports, real_node=real_node
            ),
        )
        client = self._client(server)
        wait_for("kube-apiserver /readyz", client.healthy, timeout=START_TIMEOUT, watch=watched)
        self._start(
            watched,
            "kube-controller-manager",
            controlplane.controller_manager_args(
                binaries["kube-controller-manager"],
                self.pki_dir,
                self._component_kubeconfig("kube-controller-manager"),
            ),
        )
        self._start(
            watched,
            "kube-scheduler",
            controlplane.scheduler_args(
                binaries["kube-scheduler"], self._component_kubeconfig("kube-scheduler")
            ),
        )
        return client

    def _start_real(
        self, binaries: dict[str, Path], ports: dict[str, int], server: str, started_at: float
    ) -> None:
        from charthouse.hostpkgs import ensure as ensure_host_packages

        ensure_host_packages("node")
        self.baseline.record()
        hostnet.check_address_plan()
        hostnet.ensure_bridge()
        hostnet.install_containment(ports["kube-apiserver"], ports["kubelet"])
        watched: list[tuple[Component, subprocess.Popen[bytes] | None]] = []

        registry_address = f"127.0.0.1:{ports['registry']}"
        self._start(
            watched,
            "registry",
            registry.argv(binaries["registry"], registry_address),
            dict(registry.env()),
        )
        wait_for(
            "the image registry",
            lambda: port_open(ports["registry"]),
            timeout=START_TIMEOUT,
            watch=watched,
        )
        images = registry.ensure_images(registry_address)

        client = self._start_control_plane(binaries, ports, server, watched, real_node=True)
        self._write_node_config(binaries, ports, registry_address, images.sandbox)
        env = {"PATH": f"{self.node_dir / 'bin'}:{_HOST_PATH}"}
        self._start(
            watched, "containerd", containerd.argv(binaries["containerd"], self.containerd), env
        )
        wait_for(
            "containerd",
            lambda: _unix_socket_answers(self.containerd.socket),
            timeout=START_TIMEOUT,
            watch=watched,
        )
        self.refresh_node_images(images.served)
        for path, obj in storage_objects():
            client.apply(path, obj)
        kubelet.ensure_cgroup_root()
        self._start(watched, "kubelet", kubelet.argv(binaries["kubelet"], self.kubelet), env)
        self._start(
            watched,
            "kube-proxy",
            kubeproxy.argv(binaries["kube-proxy"], self.node_dir / "kube-proxy.yaml"),
            env,
        )
        self._start_controllers(watched, server, node=kubelet.NODE_NAME)
        for path, obj in dns.objects(images.dns):
            client.apply(path, obj)
        wait_for(
            f"node {kubelet.NODE_NAME} Ready",
            lambda: self._node_ready(client, kubelet.NODE_NAME, started_at),
            timeout=START_TIMEOUT,
            watch=watched,
        )
        wait_for(
            "CoreDNS available",
            lambda: _deployment_available(client, dns.NAMESPACE, dns.NAME),
            timeout=START_TIMEOUT,
            watch=watched,
        )

    def _start_kwok(
        self, binaries: dict[str, Path], ports: dict[str, int], server: str, started_at: float
    ) -> None:
        watched: list[tuple[Component, subprocess.Popen[bytes] | None]] = []
        client = self._start_control_plane(binaries, ports, server, watched, real_node=False)
        for index in range(kwok.NODE_COUNT):
            node = kwok.node(index)
            name = node["metadata"]["name"]
            client.apply(f"/api/v1/nodes/{name}", node)
            # A lease left by the previous run makes kwok fail to create its own and retry
            # only after the lease duration (40 s): a warm `up` would wait for that.
            client.delete(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}")
        for path, obj in storage_objects():
            client.apply(path, obj)
        self._start(
            watched,
            "kwok",
            kwok.argv(
                binaries["kwok"],
                kubeconfig=self._component_kubeconfig("kwok"),
                stages=kwok.write_stages(self.dir / "kwok-stages.yaml"),
                port=ports["kwok"],
            ),
            env={"KWOK_WORKDIR": str(self.dir / "kwok")},  # ignore a user's ~/.kwok config
        )
        self._start_controllers(watched, server, node=kwok.node(0)["metadata"]["name"])
        wait_for(
            f"{kwok.NODE_COUNT} Ready nodes renewed by kwok",
            lambda: all(
                self._node_ready(client, kwok.node(i)["metadata"]["name"], started_at)
                for i in range(kwok.NODE_COUNT)
            ),
            timeout=START_TIMEOUT,
            watch=watched,
        )

    def _start(
        self,
        watched: list[tuple[Component, subprocess.Popen[bytes] | None]],
        name: str,
        argv: list[str | Path],
        env: dict[str, str] | None = None,
    ) -> None:
        component = self.component(name)
        watched.append((component, component.start(argv, env=env)))

    def _start_controllers(
        self,
        watched: list[tuple[Component, subprocess.Popen[bytes] | None]],
        server: str,
        *,
        node: str,
    ) -> None:
        self.volumes_dir.mkdir(parents=True, exist_ok=True)
        self._start(
            watched,
            "controllers",
            [
                sys.executable,
                "-m",
                "charthouse.cluster.providers.embedded.controllers",
                "--server",
                server,
                "--ca",
                self.pki_dir / "ca.crt",
                "--cert",
                self.pki_dir / "controllers.crt",
                "--key",
                self.pki_dir / "controllers.key",
                "--volumes-dir",
                self.volumes_dir,
                "--node",
                node,
            ],
        )

    def _write_node_config(
        self,
        binaries: dict[str, Path],
        ports: dict[str, int],
        registry_address: str,
        sandbox_image: str,
    ) -> None:
        bin_dir = self.node_dir / "bin"
        cni.install(
            self.node_dir / "cni" / "bin",
            self.node_dir / "cni" / "conf",
            self.node_dir / "cni" / "ipam",
            {plugin: binaries[pin] for plugin, pin in cni.PLUGINS.items()},
        )
        cni.install_links(
            bin_dir,
            {
                name: binaries[name]
                for name in ("runc", "containerd-shim-runc-v2", "crictl", "kube-proxy")
            },
        )
        _write_text(
            self.containerd.config,
            containerd.config(
                self.containerd,
                runc=binaries["runc"],
                shim=binaries["containerd-shim-runc-v2"],
                cni_bin_dir=self.node_dir / "cni" / "bin",
                cni_conf_dir=self.node_dir / "cni" / "conf",
                sandbox_image=sandbox_image,
            ),
        )
        containerd.write_mirrors(
            self.containerd.hosts_dir, registry_address, registry.mirrored_registries()
        )
        _write_text(self.kubelet.resolv_conf, "# no resolver outside the cluster\n")
        self.kubelet.pod_logs.mkdir(parents=True, exist_ok=True)
        _write_yaml(
            self.kubelet.config,
            kubelet.config(
                self.kubelet,
                port=ports["kubelet"],
                healthz_port=ports["kubelet-healthz"],
                runtime_socket=self.containerd.socket,
                ca_cert=self.pki_dir / "ca.crt",
                serving_cert=self.pki_dir / "kubelet-serving.crt",
                serving_key=self.pki_dir / "kubelet-serving.key",
            ),
        )
        kubeconfigs.write(self.kubelet.kubeconfig, self._kubeconfig_for("kubelet"))
        _write_yaml(
            self.node_dir / "kube-proxy.yaml",
            kubeproxy.config(
                self._component_kubeconfig("kube-proxy"),
                healthz_port=ports["kube-proxy-healthz"],
                metrics_port=ports["kube-proxy-metrics"],
            ),
        )

    @staticmethod
    def _node_ready(client: Client, name: str, since: float) -> bool:
        """The node is Ready *and* its lease was renewed in this run (a warm etcd still
        holds the previous run's Ready condition)."""
        try:
            node = client.get(f"/api/v1/nodes/{name}")
            lease = client.get(
                f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
            )
        except (ApiError, OSError):
            return False
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        return ready and _timestamp(lease["spec"].get("renewTime", "")) >= since - 1

    def _healthy(self, nodes: str) -> bool:
        if self._state().get("nodes") != nodes:
            return False
        if not all(self.component(name).pid() for name in COMPONENTS[nodes]):
            return False
        try:
            return self._client().healthy()
        except (OSError, ValueError, KeyError):
            return False

    # -- down -----------------------------------------------------------------------------

    def _down(self) -> None:
        """Stop everything and remove the node's footprint; safe to run at any point,
        including on the remains of a cluster killed without ``down``."""
        state = self._state()
        stopped = set()
        # The node first, while containerd can still tear pods down through CNI.
        for name in ("controllers", "kube-proxy", "kubelet"):
            if self.component(name).pid() is not None:
                stopped.add(name)
            self.component(name).stop()
        self._remove_pods()
        for name in ("containerd", "kwok", *reversed(_CONTROL_PLANE), "registry"):
            if self.component(name).pid() is not None:
                stopped.add(name)
            self.component(name).stop()
        if self.baseline.path.exists() or hostnet.bridge_exists():
            self._clean_host()
        self._check_ports_closed(state.get("ports", {}), stopped)
        if self.state_file.exists():
            state["running"] = False
            _write_json(self.state_file, state)

    def _remove_pods(self) -> None:
        """Stop and remove every pod sandbox through containerd (CNI DEL frees addresses
        and veths), if containerd still runs."""
        if self.component("containerd").pid() is None or not self.containerd.socket.exists():
            return
        crictl = self.node_dir / "bin" / "crictl"
        endpoint = f"unix://{self.containerd.socket}"
        for action in (["stopp"], ["rmp", "--force"]):
            listing = subprocess.run(
                [crictl, "--runtime-endpoint", endpoint, "pods", "-q"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            pods = listing.stdout.split()
            if pods:
                subprocess.run(
                    [crictl, "--runtime-endpoint", endpoint, *action, *pods],
                    capture_output=True,
                    timeout=120,
                    check=False,
                )

    def _clean_host(self) -> None:
        """Whatever the node left: processes, mounts, cgroups, rules, the bridge, sysctls."""
        teardown.kill(teardown.node_processes(self.node_dir, kubelet.CGROUP_ROOT))
        teardown.unmount_under(self.dir)
        teardown.remove_cgroups(kubelet.CGROUP_ROOT)
        binary = self.node_dir / "bin" / "kube-proxy"
        if binary.exists():
            subprocess.run(
                [binary, *kubeproxy.cleanup_argv(binary)[1:]],
                capture_output=True,
                timeout=120,
                check=False,
            )
        hostnet.purge_chains(
            (*kubeproxy.CHAIN_PREFIXES, "CNI-", hostnet.FORWARD_CHAIN, hostnet.INPUT_CHAIN)
        )
        hostnet.remove_bridge()
        teardown.remove_cni_cache(network.CNI_NETWORK)
        self.baseline.restore()

    def _check_ports_closed(self, ports: dict[str, int], stopped: set[str]) -> None:
        # Only ports of processes we stopped: a recorded port may belong to someone else by now.
        ours = {name: port for name, port in ports.items() if _PORT_OWNERS.get(name) in stopped}

        def open_ports() -> list[str]:
            return [f"{name}:{port}" for name, port in ours.items() if port_open(port)]

        # A Go process's sockets close when its last thread exits, a moment after its
        # main thread is gone.
        deadline = time.monotonic() + 5
        while (still_open := open_ports()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if still_open:
            raise CharthouseError(f"after down, something still listens on {', '.join(still_open)}")

    # -- files ------------------------------------------------------------------------------

    def _component_kubeconfig(self, stem: str) -> Path:
        return self.dir / "kubeconfigs" / f"{stem}.yaml"

    def _kubeconfig_for(self, stem: str) -> dict[str, Any]:
        common_name, _groups = controlplane.CLIENTS[stem]
        return kubeconfigs.kubeconfig(
            cluster=controlplane.CLUSTER_NAME,
            server=self._state()["server"],
            ca_cert=self.pki_dir / "ca.crt",
            client_cert=self.pki_dir / f"{stem}.crt",
            client_key=self.pki_dir / f"{stem}.key",
            user=common_name,
        )

    def _write_kubeconfigs(self, server: str) -> None:
        for stem, (common_name, _groups) in controlplane.CLIENTS.items():
            config = kubeconfigs.kubeconfig(
                cluster=controlplane.CLUSTER_NAME,
                server=server,
                ca_cert=self.pki_dir / "ca.crt",
                client_cert=self.pki_dir / f"{stem}.crt",
                client_key=self.pki_dir / f"{stem}.key",
                user=common_name,
            )
            target = self.kubeconfig() if stem == "admin" else self._component_kubeconfig(stem)
            kubeconfigs.write(target, config)

    def _write_state(self, nodes: str, ports: dict[str, int], server: str) -> None:
        from charthouse.tools import pin

        _write_json(
            self.state_file,
            {
                "provider": "embedded",
                "nodes": nodes,
                "running": True,
                "server": server,
                "kubernetesVersion": pin("kube-apiserver").version,
                "ports": ports,
            },
        )

    def _state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state

    def _client(self, server: str | None = None) -> Client:
        if server is None:
            server = self._state()["server"]
        p = self.pki_dir
        return Client(server, p / "ca.crt", p / "admin.crt", p / "admin.key")


def _deployment_available(client: Client, namespace: str, name: str) -> bool:
    try:
        deployment = client.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    except (ApiError, OSError):
        return False
    status = deployment.get("status", {})
    return bool(
        status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
        and status.get("availableReplicas", 0) >= 1
        and status.get("updatedReplicas", 0) >= 1
    )


def _unix_socket_answers(path: Path) -> bool:
    """Something accepts connections on ``path`` (a stale socket file left by a killed
    process does not count)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(str(path)) == 0


def _listening(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _write_text(path: Path, text: str) -> None:
    atomicfile.write(path, text, fsync=False)


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    import yaml

    _write_text(path, yaml.safe_dump(data, sort_keys=False))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomicfile.write(path, json.dumps(data, indent=2) + "\n", mode=0o600, fsync=False)


def _timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp (Lease renewTime); 0 when absent."""
    from datetime import datetime

    if not text:
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
