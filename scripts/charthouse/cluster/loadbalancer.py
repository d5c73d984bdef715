"""SIMULATION: a cloud load-balancer controller for the embedded cluster.

Services of type LoadBalancer get an address in ``status.loadBalancer.ingress``
from a documentation-only range, as a cloud controller would after creating a
load balancer. Nothing listens on that address. Why simulate it at all: helm 3's
``--wait`` (and users' own readiness checks) wait for that address, so without it
a chart whose default Service is a LoadBalancer can never finish installing.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from charthouse.cluster.api import ApiError, Client

# RFC 5737 TEST-NET-3: never routed, so nobody mistakes it for a real endpoint.
ADDRESS_POOL = ipaddress.ip_network("203.0.113.0/24")

log = logging.getLogger("charthouse.loadbalancer")


def needs_address(service: dict[str, Any]) -> bool:
    spec = service.get("spec", {})
    ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress")
    return (
        spec.get("type") == "LoadBalancer"
        and not ingress
        and "deletionTimestamp" not in service["metadata"]
        # A loadBalancerClass names another implementation: leave those alone, like a cloud does.
        and not spec.get("loadBalancerClass")
    )


def address_for(service: dict[str, Any]) -> str:
    """A stable address per Service UID, so re-reconciling never changes it."""
    hosts = ADDRESS_POOL.num_addresses - 2
    offset = int(service["metadata"]["uid"].replace("-", ""), 16) % hosts + 1
    return str(ADDRESS_POOL.network_address + offset)


class LoadBalancers:
    def __init__(self, client: Client) -> None:
        self.client = client

    def on_service(self, service: dict[str, Any]) -> None:
        if not needs_address(service):
            return
        meta = service["metadata"]
        address = address_for(service)
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
