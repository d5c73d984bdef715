"""Gateway API CRDs from the ``sigs.k8s.io/gateway-api`` Go module, at the version pinned
in ``ci/tools.yaml`` (``crds.gateway-api``).

The module proxy serves the release's ``config/crd`` files checksummed by
``sum.golang.org``, so no release page or GitHub download is needed. The files
are server-side applied, so installing twice is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.proc import run

FIELD_MANAGER = "charthouse"


def pinned(name: str = "gateway-api") -> tuple[str, str, list[str]]:
    """(module, version, paths inside the module) from ci/tools.yaml's ``crds.<name>``.

    An entry lists ``files``, or a ``dir`` whose ``*.yaml`` files are all used.
    """
    data = yaml.safe_load(paths.TOOLS_FILE.read_text()) or {}
    entry = (data.get("crds") or {}).get(name)
    where = f"{paths.TOOLS_FILE}: crds.{name}"
    if not isinstance(entry, dict):
        raise CharthouseError(f"{where}: missing (expected module, version, files or dir)")
    for key in ("module", "version"):
        if not isinstance(entry.get(key), str):
            raise CharthouseError(f"{where}.{key}: expected a string")
    files = entry.get("files") or ([entry["dir"]] if isinstance(entry.get("dir"), str) else None)
    if not files:
        raise CharthouseError(f"{where}: give `files` (a list) or `dir`")
    return entry["module"], entry["version"], [str(item) for item in files]


def module_dir(module: str, version: str) -> Path:
    """The extracted module in the Go module cache (downloaded on first use)."""
    result = run(["go", "mod", "download", "-json", f"{module}@{version}"], timeout=600)
    info = json.loads(result.stdout)
    if "Dir" not in info:
        raise CharthouseError(f"go mod download {module}@{version}: {info.get('Error', info)}")
    return Path(info["Dir"])


def documents(root: Path, entries: list[str]) -> list[dict[str, Any]]:
    """Every YAML document of the listed files (a directory means its ``*.yaml``)."""
    files: list[Path] = []
    for entry in entries:
        path = root / entry
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    docs: list[dict[str, Any]] = []
    for path in files:
        if path.name == "kustomization.yaml":
            continue
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    if not docs:
        raise CharthouseError(f"{root}: no manifests found in {', '.join(entries)}")
    return docs


def apply(kubeconfig: Path, docs: Iterable[dict[str, Any]]) -> list[str]:
    """Server-side apply ``docs``; return ``Kind/name`` of each."""
    from kubernetes import config, dynamic

    api = dynamic.DynamicClient(  # type: ignore[no-untyped-call]
        config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    )
    applied = []
    for doc in docs:
        resource = api.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        resource.server_side_apply(
            body=doc, name=doc["metadata"]["name"],
            namespace=doc["metadata"].get("namespace"),
            field_manager=FIELD_MANAGER, force_conflicts=True,
        )
        applied.append(f"{doc['kind']}/{doc['metadata']['name']}")
    return applied


def install(kubeconfig: Path) -> list[str]:
    module, version, entries = pinned()
    return apply(kubeconfig, documents(module_dir(module, version), entries))
