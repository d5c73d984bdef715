"""Where a Service sends traffic, read from the EndpointSlices the real controller builds."""

from __future__ import annotations

from collections import Counter

from .kube import Kube

TRACK = "charthouse.dev/track"


def endpoint_tracks(kube: Kube, namespace: str, service: str) -> Counter[str]:
    """Track label of every ready endpoint behind ``service``: where its traffic goes."""
    pods = {p["metadata"]["name"]: p for p in kube.pods(namespace)}
    tracks: Counter[str] = Counter()
    for eps in kube.items(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        namespace,
        labels=f"kubernetes.io/service-name={service}",
    ):
        for endpoint in eps.get("endpoints") or []:
            if not endpoint.get("conditions", {}).get("ready"):
                continue
            pod = pods.get(endpoint.get("targetRef", {}).get("name", ""))
            tracks[pod["metadata"]["labels"].get(TRACK, "?") if pod else "gone"] += 1
    return tracks
