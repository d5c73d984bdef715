"""The node's address plan: one bridge, one pod subnet, one Service range, loopback LBs.

Every address the embedded cluster uses is decided here, so the bridge, CNI, the
API server, kube-proxy, CoreDNS and the load-balancer allocator agree on them.
Nothing is routed off the machine: pods get routes for the pod and Service
ranges only, and LoadBalancer addresses come from the loopback range.
"""

from __future__ import annotations

import ipaddress

BRIDGE = "charthouse0"
CNI_NETWORK = "charthouse"

CLUSTER_CIDR = ipaddress.ip_network("10.244.0.0/16")
# The one real node's pod subnet; its first address is the bridge (the pods' gateway),
# which is also where the API server and kubelet listen, so pods reach them.
NODE_POD_CIDR = ipaddress.ip_network("10.244.0.0/24")
NODE_IP = NODE_POD_CIDR.network_address + 1
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
KUBERNETES_SERVICE_IP = SERVICE_CIDR.network_address + 1
DNS_SERVICE_IP = SERVICE_CIDR.network_address + 10
CLUSTER_DOMAIN = "cluster.local"

# LoadBalancer Services get an address here: on loopback, reachable only from this
# machine (kube-proxy forwards it to the Service's pods).
LOADBALANCER_POOL = ipaddress.ip_network("127.244.0.0/24")

# kwok's simulated nodes (``--nodes kwok``) report this address; nothing listens there.
SIMULATED_NODE_IP = "10.0.0.10"


def overlaps(cidr: str) -> bool:
    """True when ``cidr`` overlaps one of the ranges the node claims (pod, Service)."""
    other = ipaddress.ip_network(cidr, strict=False)
    if other.version != 4:
        return False
    return any(other.overlaps(ours) for ours in (CLUSTER_CIDR, SERVICE_CIDR))
