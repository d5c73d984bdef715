"""Strict schema validation: unknown fields and wrong types fail, naming the field,
for every supported Kubernetes version; custom resources use pinned CRD schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from charthouse import crds, kubeschema
from charthouse.render_choices import SUPPORTED_KUBE_VERSIONS


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"a": "b"}},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}
                    ]
                },
            },
        },
    }


@pytest.mark.parametrize("version", SUPPORTED_KUBE_VERSIONS)
def test_valid_deployment_passes_every_version(version: str) -> None:
    assert kubeschema.validate_object(deployment(), version) is None


def test_unknown_field_is_an_error_naming_it() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    violation = kubeschema.validate_object(obj, "1.37.0")
    assert violation is not None
    assert violation.field == "spec.template.spec.containers[0].imagePullPolice"


def test_wrong_type_is_an_error_naming_it() -> None:
    obj = copy.deepcopy(deployment())
    obj["spec"]["replicas"] = "three"
    violation = kubeschema.validate_object(obj, "1.31.0")
    assert violation is not None and violation.field == "spec.replicas"


def test_kind_missing_from_old_version_is_reported() -> None:
    with pytest.raises(LookupError):
        kubeschema.validate_object({"apiVersion": "example.com/v1", "kind": "Widget"}, "1.37.0")


def test_unknown_custom_resource_is_a_violation() -> None:
    violation = crds.validate_object(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    assert violation is not None and "no schema" in violation.message


def test_servicemonitor_typo_is_caught() -> None:
    monitor: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "m"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "endpoints": [{"port": "metrics"}]},
    }
    assert crds.validate_object(monitor) is None
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    violation = crds.validate_object(monitor)
    assert violation is not None and "intervall" in violation.field


def test_httproute_is_validated() -> None:
    route: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [{"backendRefs": [{"name": "svc", "port": 80, "weight": 90}]}],
        },
    }
    assert crds.validate_object(route) is None
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = "ninety"
    assert crds.validate_object(route) is not None
