"""The control plane of the embedded cluster: certificates and the component command lines.

etcd, kube-apiserver (RBAC and Node authorization; PodSecurity, NodeRestriction,
ServiceAccount and DefaultStorageClass admission), kube-controller-manager and
kube-scheduler, all built from the pinned Kubernetes tools module.

With a real node the API server listens on the node address (the bridge), the
only place both the host and pods reach: pods through the ``kubernetes`` Service,
whose endpoint the API server publishes itself. With kwok nodes there are no
pods that run, so it listens on 127.0.0.1 and publishes no endpoint.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from charthouse.cluster.providers.embedded import network
from charthouse.cluster.providers.embedded.kubelet import NODE_NAME

CLUSTER_NAME = "charthouse"
# Bump when the set of certificates changes: an older pki/ is regenerated.
PKI_VERSION = "3"
# The aggregation layer: the API server proxies /apis/metrics.k8s.io (and any other
# APIService) to its backend with this client certificate, which the backend trusts
# through the front-proxy CA (a CA of its own, as kubeadm and kind do).
FRONT_PROXY_CLIENT = "front-proxy-client"

# name -> (CN, groups) of the client certificates; RBAC's bootstrap policy binds the
# system:kube-*, system:node:* and system:kube-proxy users; system:masters is cluster-admin.
CLIENTS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("charthouse-admin", ("system:masters",)),
    "kube-controller-manager": ("system:kube-controller-manager", ()),
    "kube-scheduler": ("system:kube-scheduler", ()),
    "kubelet": (f"system:node:{NODE_NAME}", ("system:nodes",)),
    "kube-proxy": ("system:kube-proxy", ()),
    # The API server's identity towards kubelets (logs, exec, port-forward).
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", ("system:masters",)),
    # kwok writes status for every simulated node and pod: it stands in for all kubelets.
    "kwok": ("charthouse:kwok-simulated-kubelets", ("system:masters",)),
    "controllers": ("charthouse:controllers", ("system:masters",)),
}
_APISERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{network.CLUSTER_DOMAIN}",
)


@dataclass(frozen=True)
class Ports:
    etcd: int
    etcd_peer: int
    apiserver: int


def ensure_pki(directory: Path) -> None:
    """Create every certificate once; a half-written set is never left in place."""
    marker = directory / "complete"
    if marker.exists() and marker.read_text().strip() == PKI_VERSION:
        return
    from charthouse.cluster import pki  # cryptography: only when certificates are made

    staging = directory.with_name(f".pki.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o700)
    ca = pki.create_ca(f"{CLUSTER_NAME}-ca")
    ca.write(staging, "ca")
    pki.issue(
        ca, "etcd", dns_names=["localhost"], ip_addresses=["127.0.0.1"], server=True, client=True
    ).write(staging, "etcd-server")
    pki.issue(ca, "kube-apiserver-etcd-client", client=True).write(staging, "apiserver-etcd-client")
    pki.issue(
        ca,
        "kube-apiserver",
        dns_names=_APISERVER_NAMES,
        ip_addresses=["127.0.0.1", str(network.NODE_IP), str(network.KUBERNETES_SERVICE_IP)],
        server=True,
    ).write(staging, "apiserver")
    pki.issue(
        ca,
        f"system:node:{NODE_NAME}",
        organizations=("system:nodes",),
        dns_names=[NODE_NAME, "localhost"],
        ip_addresses=[str(network.NODE_IP), "127.0.0.1"],
        server=True,
    ).write(staging, "kubelet-serving")
    for stem, (common_name, groups) in CLIENTS.items():
        pki.issue(ca, common_name, organizations=groups, client=True).write(staging, stem)
    front_proxy_ca = pki.create_ca(f"{CLUSTER_NAME}-front-proxy-ca")
    front_proxy_ca.write(staging, "front-proxy-ca")
    pki.issue(front_proxy_ca, FRONT_PROXY_CLIENT, client=True).write(staging, FRONT_PROXY_CLIENT)
    private, public = pki.service_account_keys()
    pki.write_private(staging / "sa.key", private)
    pki.write_private(staging / "sa.pub", public)
    (staging / "complete").write_text(f"{PKI_VERSION}\n")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)


def etcd_args(binary: Path, pki_dir: Path, data_dir: Path, ports: Ports) -> list[str | Path]:
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    client_url = f"https://127.0.0.1:{ports.etcd}"
    return [
        binary,
        "--name",
        CLUSTER_NAME,
        "--data-dir",
        data_dir,
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
        pki_dir / "etcd-server.crt",
        "--key-file",
        pki_dir / "etcd-server.key",
        "--client-cert-auth",
        "--trusted-ca-file",
        pki_dir / "ca.crt",
        # A disposable test cluster: no fsync (much faster on CI disks); data survives a
        # clean `down`, not a power cut.
        "--unsafe-no-fsync",
        "--log-level",
        "warn",
    ]


def apiserver_address(real_node: bool) -> str:
    return str(network.NODE_IP) if real_node else "127.0.0.1"


def apiserver_args(
    binary: Path, pki_dir: Path, ports: Ports, *, real_node: bool
) -> list[str | Path]:
    p = pki_dir
    address = apiserver_address(real_node)
    args: list[str | Path] = [
        binary,
        "--bind-address",
        address,
        "--advertise-address",
        address,
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
        "--kubelet-client-certificate",
        p / "apiserver-kubelet-client.crt",
        "--kubelet-client-key",
        p / "apiserver-kubelet-client.key",
        "--kubelet-certificate-authority",
        p / "ca.crt",
        "--kubelet-preferred-address-types",
        "InternalIP,Hostname",
        "--authorization-mode",
        "Node,RBAC",
        # Defaults already include most of these; named so nobody removes them by accident.
        "--enable-admission-plugins",
        "NodeRestriction,PodSecurity,DefaultStorageClass,ServiceAccount",
        "--service-account-issuer",
        f"https://kubernetes.default.svc.{network.CLUSTER_DOMAIN}",
        "--service-account-key-file",
        p / "sa.pub",
        "--service-account-signing-key-file",
        p / "sa.key",
        "--service-cluster-ip-range",
        str(network.SERVICE_CIDR),
        # The aggregation layer (metrics-server's metrics.k8s.io, for HPAs and
        # `kubectl top`): requests proxied to an APIService carry the user in headers
        # signed by the front-proxy client; routed to the backend's endpoints, since
        # the API server runs on the host, outside any pod network namespace.
        "--requestheader-client-ca-file",
        p / "front-proxy-ca.crt",
        "--requestheader-allowed-names",
        FRONT_PROXY_CLIENT,
        "--requestheader-username-headers",
        "X-Remote-User",
        "--requestheader-group-headers",
        "X-Remote-Group",
        "--requestheader-extra-headers-prefix",
        "X-Remote-Extra-",
        "--proxy-client-cert-file",
        p / f"{FRONT_PROXY_CLIENT}.crt",
        "--proxy-client-key-file",
        p / f"{FRONT_PROXY_CLIENT}.key",
        "--enable-aggregator-routing=true",
        "--profiling=false",
    ]
    if not real_node:
        # 127.0.0.1 is not a valid endpoint address for the `kubernetes` Service.
        args += ["--endpoint-reconciler-type", "none"]
    return args


def controller_manager_args(binary: Path, pki_dir: Path, kubeconfig: Path) -> list[str | Path]:
    return [
        binary,
        "--kubeconfig",
        kubeconfig,
        "--secure-port",
        "0",
        "--leader-elect=false",
        "--use-service-account-credentials=true",
        "--service-account-private-key-file",
        pki_dir / "sa.key",
        "--root-ca-file",
        pki_dir / "ca.crt",
        "--cluster-signing-cert-file",
        pki_dir / "ca.crt",
        "--cluster-signing-key-file",
        pki_dir / "ca.key",
        "--cluster-name",
        CLUSTER_NAME,
        "--cluster-cidr",
        str(network.CLUSTER_CIDR),
        "--service-cluster-ip-range",
        str(network.SERVICE_CIDR),
        # Tests wait on the HPA controller; its 15 s default period would dominate them.
        "--horizontal-pod-autoscaler-sync-period=2s",
        # A Job's pods are gone soon after it finished; a test cluster needs no archive.
        "--terminated-pod-gc-threshold=50",
    ]


def scheduler_args(binary: Path, kubeconfig: Path) -> list[str | Path]:
    return [binary, "--kubeconfig", kubeconfig, "--secure-port", "0", "--leader-elect=false"]
