"""The embedded provider: a real control plane as local processes, with simulated nodes.

Real: etcd, kube-apiserver (RBAC, PodSecurity and the other default admission
plugins, service-account tokens), kube-controller-manager, kube-scheduler.
Simulated (and named so): nodes and pod lifecycles (kwok, see
:mod:`charthouse.cluster.simulation`) and volumes (see
:mod:`charthouse.cluster.provisioner`) and cloud load balancers (see
:mod:`charthouse.cluster.loadbalancer`), run by :mod:`charthouse.cluster.controllers`.

Everything listens on 127.0.0.1 on ports the kernel picked, and lives in one
directory::

    <dir>/pki/            CA, serving and client certificates, service-account keys
    <dir>/etcd/           etcd data (kept between up/down: a warm ``up`` takes seconds)
    <dir>/logs/<name>.log one log per component (the previous run's in <name>.log.1)
    <dir>/run/<name>.pid  pid + start time of each running component
    <dir>/kubeconfig      admin kubeconfig (user in group system:masters)
    <dir>/state.json      provider and ports of the current run
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charthouse.cluster import pki, simulation
from charthouse.cluster.api import ApiError, Client
from charthouse.cluster.processes import Component, free_port, log_tail, port_open, wait_for
from charthouse.cluster.provider import Status
from charthouse.cluster.provisioner import storage_objects
from charthouse.errors import CharthouseError
from charthouse.locks import file_lock

KUBERNETES_VERSION = "v1.37.2"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
SIMULATED_NODE_IP = "10.0.0.10"
CLUSTER_NAME = "charthouse"

# Start order; ``down`` stops in reverse. Tools are names in ci/tools.yaml.
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "simulated-controllers",
)
TOOLS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

START_TIMEOUT = 90.0

# name -> (CN, groups) of the client certificates; RBAC's bootstrap policy binds the
# system:kube-* users, system:masters is cluster-admin.
_CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("charthouse-admin", ("system:masters",)),
    "kube-controller-manager": ("system:kube-controller-manager", ()),
    "kube-scheduler": ("system:kube-scheduler", ()),
    # kwok writes status for every simulated node and pod: it stands in for all kubelets.
    "kwok": ("charthouse:kwok-simulated-kubelets", ("system:masters",)),
    "simulated-controllers": ("charthouse:simulated-controllers", ("system:masters",)),
}
_APISERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


# Recorded port name -> the component listening on it.
_PORT_OWNERS = {
    "etcd": "etcd",
    "etcd-peer": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kwok": "kwok",
}


@dataclass(frozen=True)
class Ports:
    etcd: int
    etcd_peer: int
    apiserver: int
    kwok: int

    @classmethod
    def pick(cls, previous: dict[str, int]) -> Ports:
        """Last run's ports when still free (the admin kubeconfig and etcd's recorded peer
        URL stay valid), otherwise new ones from the kernel."""

        def port(name: str) -> int:
            old = previous.get(name)
            return old if old and not port_open(old) else free_port()

        return cls(port("etcd"), port("etcd-peer"), port("kube-apiserver"), port("kwok"))

    def all(self) -> dict[str, int]:
        return {
            "etcd": self.etcd,
            "etcd-peer": self.etcd_peer,
            "kube-apiserver": self.apiserver,
            "kwok": self.kwok,
        }


def _ensure_tools() -> dict[str, Path]:
    from charthouse.tools import ensure_tool

    return {name: ensure_tool(name) for name in TOOLS}


class EmbeddedCluster:
    """``charthouse cluster up --provider embedded`` (see the module docstring)."""

    name = "embedded"

    def __init__(self, directory: Path, *, tools: Callable[[], dict[str, Path]] = _ensure_tools):
        self.dir = directory
        self.pki_dir = directory / "pki"
        self.etcd_dir = directory / "etcd"
        self.log_dir = directory / "logs"
        self.run_dir = directory / "run"
        self.state_file = directory / "state.json"
        self._tools = tools

    # -- public interface -------------------------------------------------------------

    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def component(self, name: str) -> Component:
        return Component(name, self.run_dir, self.log_dir)

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
        """Stop every component (reverse start order), then make sure their ports are closed."""
        with self._exclusive():
            self._down()

    def _up(self) -> Path:
        if self._healthy():
            return self.kubeconfig()
        self._down()  # a partial cluster (crashed component, stale pid files): start clean
        binaries = self._tools()
        self._ensure_pki()
        ports = Ports.pick(self._recorded_ports())
        server = f"https://127.0.0.1:{ports.apiserver}"
        self._write_kubeconfigs(server)
        self._write_state(ports, server)
        started_at = time.time()
        try:
            self._start_control_plane(binaries, ports, server, started_at)
        except BaseException:
            self._down()
            raise
        return self.kubeconfig()

    def _down(self) -> None:
        ports = self._recorded_ports()
        stopped = set()
        for name in reversed(COMPONENTS):
            component = self.component(name)
            if component.pid() is not None:
                stopped.add(name)
            component.stop()
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
        if self.state_file.exists():
            state = json.loads(self.state_file.read_text())
            state["running"] = False
            _write_json(self.state_file, state)

    def status(self) -> Status:
        components: dict[str, str] = {}
        problems: list[str] = []
        for name in COMPONENTS:
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
        return Status(
            "embedded", running, self.kubeconfig() if running else None, components, problems
        )

    # -- startup ------------------------------------------------------------------------

    def _start_control_plane(
        self, binaries: dict[str, Path], ports: Ports, server: str, started_at: float
    ) -> None:
        watched: list[tuple[Component, subprocess.Popen[bytes] | None]] = []

        def start(name: str, argv: list[str | Path], env: dict[str, str] | None = None) -> None:
            watched.append((self.component(name), self.component(name).start(argv, env=env)))

        start("etcd", self._etcd_args(binaries["etcd"], ports))
        start("kube-apiserver", self._apiserver_args(binaries["kube-apiserver"], ports))
        client = self._client(server)
        wait_for("kube-apiserver /readyz", client.healthy, timeout=START_TIMEOUT, watch=watched)
        self._bootstrap_objects(client)
        start(
            "kube-controller-manager",
            self._controller_manager_args(binaries["kube-controller-manager"]),
        )
        start("kube-scheduler", self._scheduler_args(binaries["kube-scheduler"]))
        start(
            "kwok",
            self._kwok_args(binaries["kwok"], ports),
            env={"KWOK_WORKDIR": str(self.dir / "kwok")},
        )  # ignore a user's ~/.kwok config
        start(
            "simulated-controllers",
            [
                sys.executable,
                "-m",
                "charthouse.cluster.controllers",
                "--server",
                server,
                "--ca",
                self.pki_dir / "ca.crt",
                "--cert",
                self.pki_dir / "simulated-controllers.crt",
                "--key",
                self.pki_dir / "simulated-controllers.key",
            ],
        )
        wait_for(
            f"{simulation.NODE_COUNT} Ready nodes renewed by kwok",
            lambda: self._nodes_ready(client, started_at),
            timeout=START_TIMEOUT,
            watch=watched,
        )

    def _bootstrap_objects(self, client: Client) -> None:
        """Fake nodes, the default StorageClass and its (simulated) CSI driver."""
        for index in range(simulation.NODE_COUNT):
            node = simulation.node(index)
            name = node["metadata"]["name"]
            client.apply(f"/api/v1/nodes/{name}", node)
            # A lease left by the previous run makes kwok fail to create its own and retry
            # only after the lease duration (40 s): a warm `up` would wait for that.
            client.delete(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}")
        for path, obj in storage_objects():
            client.apply(path, obj)

    @staticmethod
    def _nodes_ready(client: Client, since: float) -> bool:
        """Every fake node is Ready *and* kwok renewed its lease in this run.

        A warm etcd still holds last run's Ready condition; the lease renewal proves
        kwok is managing the node now.
        """
        try:
            nodes = client.get("/api/v1/nodes")["items"]
            leases = {
                item["metadata"]["name"]: item["spec"].get("renewTime", "")
                for item in client.get(
                    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
                )["items"]
            }
        except (ApiError, OSError):
            return False
        ready = 0
        for node in nodes:
            name = node["metadata"]["name"]
            conditions = node.get("status", {}).get("conditions", [])
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) and (
                _timestamp(leases.get(name, "")) >= since - 1
            ):
                ready += 1
        return ready >= simulation.NODE_COUNT

    def _healthy(self) -> bool:
        if not all(self.component(name).pid() for name in COMPONENTS):
            return False
        try:
            return self._client().healthy()
        except (OSError, ValueError, KeyError):
            return False

    # -- component command lines -----------------------------------------------------------

    def _etcd_args(self, binary: Path, ports: Ports) -> list[str | Path]:
        p = self.pki_dir
        peer = f"http://127.0.0.1:{ports.etcd_peer}"
        client_url = f"https://127.0.0.1:{ports.etcd}"
        return [
            binary,
            "--name",
            CLUSTER_NAME,
            "--data-dir",
            self.etcd_dir,
            "--listen-client-urls",
            client_url,
            "--advertise-client-urls",
            client_url,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"{CLUSTER_NAME}={peer}",
            "--cert-file",
            p / "etcd-server.crt",
            "--key-file",
            p / "etcd-server.key",
            "--client-cert-auth",
            "--trusted-ca-file",
            p / "ca.crt",
            # A disposable test cluster: no fsync (much faster on CI disks); data survives a
            # clean `down`, not a power cut.
            "--unsafe-no-fsync",
            "--log-level",
            "warn",
        ]

    def _apiserver_args(self, binary: Path, ports: Ports) -> list[str | Path]:
        p = self.pki_dir
        return [
            binary,
            "--bind-address",
            "127.0.0.1",
            "--advertise-address",
            "127.0.0.1",
            "--secure-port",
            str(ports.apiserver),
            "--etcd-servers",
            f"https://127.0.0.1:{ports.etcd}",
            "--etcd-cafile",
            p / "ca.crt",
            "--etcd-certfile",
            p / "apiserver-etcd-client.crt",
            "--etcd-keyfile",
            p / "apiserver-etcd-client.key",
            "--tls-cert-file",
            p / "apiserver.crt",
            "--tls-private-key-file",
            p / "apiserver.key",
            "--client-ca-file",
            p / "ca.crt",
            "--authorization-mode",
            "RBAC",
            # Defaults already include these; named so nobody removes them by accident.
            "--enable-admission-plugins",
            "PodSecurity,DefaultStorageClass,ServiceAccount",
            "--service-account-issuer",
            "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file",
            p / "sa.pub",
            "--service-account-signing-key-file",
            p / "sa.key",
            "--service-cluster-ip-range",
            SERVICE_CIDR,
            # 127.0.0.1 is not a valid endpoint address for the `kubernetes` Service.
            "--endpoint-reconciler-type",
            "none",
            "--profiling=false",
        ]

    def _controller_manager_args(self, binary: Path) -> list[str | Path]:
        p = self.pki_dir
        return [
            binary,
            "--kubeconfig",
            self._component_kubeconfig("kube-controller-manager"),
            "--secure-port",
            "0",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            "--service-account-private-key-file",
            p / "sa.key",
            "--root-ca-file",
            p / "ca.crt",
            "--cluster-signing-cert-file",
            p / "ca.crt",
            "--cluster-signing-key-file",
            p / "ca.key",
            "--cluster-name",
            CLUSTER_NAME,
            # Tests wait on the HPA controller; its 15 s default period would dominate them.
            "--horizontal-pod-autoscaler-sync-period=2s",
        ]

    def _scheduler_args(self, binary: Path) -> list[str | Path]:
        return [
            binary,
            "--kubeconfig",
            self._component_kubeconfig("kube-scheduler"),
            "--secure-port",
            "0",
            "--leader-elect=false",
        ]

    def _kwok_args(self, binary: Path, ports: Ports) -> list[str | Path]:
        stages = simulation.write_stages(self.dir / "kwok-stages.yaml")
        annotation, value = next(iter(simulation.NODE_ANNOTATION.items()))
        return [
            binary,
            "--kubeconfig",
            self._component_kubeconfig("kwok"),
            "--config",
            stages,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector",
            f"{annotation}={value}",
            "--node-lease-duration-seconds",
            "40",
            "--cidr",
            POD_CIDR,
            "--node-ip",
            SIMULATED_NODE_IP,
            "--server-address",
            f"127.0.0.1:{ports.kwok}",
        ]

    # -- files ------------------------------------------------------------------------------

    def _ensure_pki(self) -> None:
        """Create all certificates once; a half-written set is never left in place."""
        if (self.pki_dir / "complete").exists():
            return
        staging = self.pki_dir.with_name(f".pki.{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True, mode=0o700)
        ca = pki.create_ca(f"{CLUSTER_NAME}-ca")
        ca.write(staging, "ca")
        pki.issue(
            ca,
            "etcd",
            dns_names=["localhost"],
            ip_addresses=["127.0.0.1"],
            server=True,
            client=True,
        ).write(staging, "etcd-server")
        pki.issue(ca, "kube-apiserver-etcd-client", client=True).write(
            staging, "apiserver-etcd-client"
        )
        pki.issue(
            ca,
            "kube-apiserver",
            dns_names=_APISERVER_NAMES,
            ip_addresses=["127.0.0.1", "10.96.0.1"],
            server=True,
        ).write(staging, "apiserver")
        for stem, (common_name, groups) in _CLIENTS.items():
            pki.issue(ca, common_name, organizations=groups, client=True).write(staging, stem)
        private, public = pki.service_account_keys()
        pki.write_private(staging / "sa.key", private)
        pki.write_private(staging / "sa.pub", public)
        (staging / "complete").write_text("")
        shutil.rmtree(self.pki_dir, ignore_errors=True)
        staging.rename(self.pki_dir)

    def _component_kubeconfig(self, stem: str) -> Path:
        return self.dir / "kubeconfigs" / f"{stem}.yaml"

    def _write_kubeconfigs(self, server: str) -> None:
        for stem, (common_name, _groups) in _CLIENTS.items():
            config = pki.kubeconfig(
                cluster=CLUSTER_NAME,
                server=server,
                ca_cert=self.pki_dir / "ca.crt",
                client_cert=self.pki_dir / f"{stem}.crt",
                client_key=self.pki_dir / f"{stem}.key",
                user=common_name,
            )
            target = self.kubeconfig() if stem == "admin" else self._component_kubeconfig(stem)
            pki.write_kubeconfig(target, config)

    def _write_state(self, ports: Ports, server: str) -> None:
        _write_json(
            self.state_file,
            {
                "provider": "embedded",
                "running": True,
                "server": server,
                "kubernetesVersion": KUBERNETES_VERSION,
                "ports": ports.all(),
            },
        )

    def _recorded_ports(self) -> dict[str, int]:
        try:
            ports: dict[str, int] = json.loads(self.state_file.read_text())["ports"]
        except (OSError, ValueError, KeyError):
            return {}
        return ports

    def _client(self, server: str | None = None) -> Client:
        if server is None:
            server = json.loads(self.state_file.read_text())["server"]
        p = self.pki_dir
        return Client(server, p / "ca.crt", p / "admin.crt", p / "admin.key")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    pki.write_private(path, (json.dumps(data, indent=2) + "\n").encode())


def _timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp (Lease renewTime); 0 when absent."""
    from datetime import datetime

    if not text:
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
