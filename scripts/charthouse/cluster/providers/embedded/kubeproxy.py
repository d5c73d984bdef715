"""kube-proxy for the real node: Services as iptables rules, run as a host process.

Settings chosen to keep the host as it was:

* ``masqueradeAll``: Service traffic is SNATed to the bridge address, so replies
  come back through the host's conntrack without loading ``br_netfilter`` or
  changing ``bridge-nf-call-iptables`` for every bridge on the machine;
* ``localhostNodePorts: false`` (no global ``route_localnet``), conntrack sizes
  and timeouts left alone (0 means "do not touch"), ``oomScoreAdj: 0`` (these
  machines lack CAP_SYS_RESOURCE);
* NodePorts only on the node address, health and metrics on 127.0.0.1.

LoadBalancer addresses are in 127.0.0.0/8 (see :mod:`.network`): kube-proxy's
rules for them match locally generated traffic, so ``curl 127.244.0.1:80``
from the host reaches the Service's pods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charthouse.cluster.providers.embedded import network
from charthouse.cluster.providers.embedded.kubelet import NODE_NAME

# Chain prefixes kube-proxy (and kubelet) create; teardown removes every one.
CHAIN_PREFIXES = ("KUBE-",)


def config(kubeconfig: Path, *, healthz_port: int, metrics_port: int) -> dict[str, Any]:
    """The KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1)."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": str(network.CLUSTER_CIDR),
        "detectLocalMode": "ClusterCIDR",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "nodePortAddresses": [f"{network.NODE_IP}/32"],
        "oomScoreAdj": 0,
        "iptables": {
            "masqueradeAll": True,
            "localhostNodePorts": False,
            "syncPeriod": "30s",
            "minSyncPeriod": "0s",
        },
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
            "udpTimeout": "0s",
            "udpStreamTimeout": "0s",
        },
    }


def argv(binary: Path, config_file: Path) -> list[str | Path]:
    return [binary, "--config", config_file, "--v", "1"]


def cleanup_argv(binary: Path) -> list[str | Path]:
    """``kube-proxy --cleanup``: removes the chains of every proxy mode it knows."""
    return [binary, "--cleanup", "--v", "1"]
