"""LoadBalancer Services of the embedded cluster get an address on loopback.

Each Service of type LoadBalancer (without a ``loadBalancerClass``, which names
another implementation) gets its own address from 127.244.0.0/24 in
``status.loadBalancer.ingress``. kube-proxy turns that address into iptables
rules for locally generated traffic, so from this machine, and only from it,
``curl http://127.244.0.1:80/ -H 'Host: api.example.com'`` reaches the
Service's pods — the same path a cloud load balancer gives, without a cloud.
Nothing listens on the address itself.

With ``--nodes kwok`` there is no kube-proxy: the address is assigned (helm's
``--wait`` needs it) but nothing answers on it.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

from charthouse.cluster.api import ApiError, Client
from charthouse.cluster.providers.embedded.network import LOADBALANCER_POOL

log = logging.getLogger("charthouse.loadbalancer")


def needs_address(service: dict[str, Any]) -> bool:
    spec = service.get("spec", {})
    ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress")
    return (
        spec.get("type") == "LoadBalancer"
        and not ingress
        and "deletionTimestamp" not in service["metadata"]
        and not spec.get("loadBalancerClass")
    )


def assigned(service: dict[str, Any]) -> set[str]:
    """Pool addresses already in a Service's status."""
    ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    return {
        item["ip"]
        for item in ingress
        if "ip" in item and ipaddress.ip_address(item["ip"]) in LOADBALANCER_POOL
    }


def preferred_offset(service: dict[str, Any]) -> int:
    """A stable first choice per Service UID, so a reinstall tends to get the same one."""
    hosts = LOADBALANCER_POOL.num_addresses - 2
    return int(service["metadata"]["uid"].replace("-", ""), 16) % hosts


def pick(service: dict[str, Any], in_use: set[str]) -> str | None:
    """The preferred free address, probing upwards; None when the pool is exhausted."""
    hosts = LOADBALANCER_POOL.num_addresses - 2
    start = preferred_offset(service)
    for step in range(hosts):
        candidate = str(LOADBALANCER_POOL.network_address + 1 + (start + step) % hosts)
        if candidate not in in_use:
            return candidate
    return None


class LoadBalancers:
    """Hands out pool addresses; remembers which Service holds which."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._holders: dict[str, str] = {}  # service uid -> address

    def on_service(self, service: dict[str, Any]) -> None:
        uid = service["metadata"]["uid"]
        with self._lock:
            held = assigned(service)
            if held:
                self._holders[uid] = next(iter(held))
            if service.get("spec", {}).get("type") != "LoadBalancer":
                self._holders.pop(uid, None)
            if not needs_address(service):
                return
            address = pick(service, set(self._holders.values()))
            if address is None:
                log.error("load-balancer pool %s exhausted", LOADBALANCER_POOL)
                return
            self._holders[uid] = address
        meta = service["metadata"]
        try:
            self.client.request(
                "PATCH",
                f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status",
                {"status": {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]}}},
                content_type="application/merge-patch+json",
            )
        except ApiError as exc:
            if exc.status != 404:  # deleted meanwhile
                raise
            return
        log.info("assigned %s to service %s/%s", address, meta["namespace"], meta["name"])

    def on_deleted(self, service: dict[str, Any]) -> None:
        with self._lock:
            self._holders.pop(service["metadata"]["uid"], None)
