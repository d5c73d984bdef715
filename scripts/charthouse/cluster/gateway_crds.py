"""Install pinned CRD bundles into a cluster: the Gateway API (``sigs.k8s.io/gateway-api``)
by default, or any other ``crds:`` entry of ``ci/tools.yaml`` (the integration suite also
installs the ServiceMonitor CRDs so those scenarios install).

The files come from the pinned Go module via :func:`charthouse.crds.crd_files` (the
module proxy serves them checksummed by sum.golang.org; no release page), the
same files ``charthouse validate`` checks custom resources against. They are
server-side applied, so installing twice is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from charthouse import kubeapi
from charthouse.crds import crd_files
from charthouse.errors import CharthouseError

FIELD_MANAGER = "charthouse"


def documents(files: Iterable[Path]) -> list[dict[str, Any]]:
    """Every non-empty YAML document of ``files`` (kustomization files skipped)."""
    docs: list[dict[str, Any]] = []
    for path in files:
        if path.name != "kustomization.yaml":
            docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def apply(kubeconfig: Path, docs: Iterable[dict[str, Any]]) -> list[str]:
    """Server-side apply ``docs``; return ``Kind/name`` of each. An API server that
    refuses or does not answer is an error naming the kubeconfig and the object."""
    from kubernetes import dynamic
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    applied: list[str] = []
    what = "API discovery"
    try:
        api = dynamic.DynamicClient(kubeapi.connect(kubeconfig))  # type: ignore[no-untyped-call]
        for doc in docs:
            what = f"{doc['kind']}/{doc['metadata']['name']}"
            resource = api.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
            resource.server_side_apply(
                body=doc,
                name=doc["metadata"]["name"],
                namespace=doc["metadata"].get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
            applied.append(what)
    except (ApiException, HTTPError, OSError) as exc:
        raise CharthouseError(f"{kubeconfig}: applying {what}: {exc}") from exc
    return applied


def install(kubeconfig: Path, bundle: str = "gateway-api") -> list[str]:
    """Apply the CRD bundle ``bundle`` pinned in ci/tools.yaml."""
    docs = documents(crd_files(bundle))
    if not docs:
        raise CharthouseError(f"ci/tools.yaml: crds.{bundle}: no manifests (unknown bundle?)")
    return apply(kubeconfig, docs)
