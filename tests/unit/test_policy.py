"""The security policy catches each thing it promises to catch, and names the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from charthouse import policy
from charthouse.manifests import Manifests


def secure_job() -> dict[str, Any]:
    container = {
        "name": "main",
        "image": "registry.example/app:1.2.3",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"memory": "32Mi"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "backup"},
        "spec": {
            "schedule": "@daily",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "metadata": {},
                        "spec": {
                            "securityContext": {
                                "runAsNonRoot": True,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "initContainers": [copy.deepcopy(container)],
                            "containers": [container],
                        },
                    }
                }
            },
        },
    }


POD = "spec.jobTemplate.spec.template.spec"


def violations(obj: dict[str, Any]) -> list[str]:
    return [str(v) for v in policy.check(Manifests([obj]))]


def test_secure_cronjob_passes() -> None:
    assert violations(secure_job()) == []


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda s: s["initContainers"][0]["securityContext"].pop("allowPrivilegeEscalation"),
            f"{POD}.initContainers[0].securityContext.allowPrivilegeEscalation",
        ),
        (
            lambda s: s["containers"][0]["securityContext"].update(
                capabilities={"drop": ["NET_RAW"]}
            ),
            f"{POD}.containers[0].securityContext.capabilities.drop",
        ),
        (
            lambda s: s["securityContext"].pop("seccompProfile"),
            f"{POD}.initContainers[0].securityContext.seccompProfile.type",
        ),
        (
            lambda s: s["securityContext"].update(runAsNonRoot=False),
            f"{POD}.containers[0].securityContext.runAsNonRoot",
        ),
        (
            lambda s: s["containers"][0]["securityContext"].update(runAsUser=0),
            f"{POD}.containers[0].securityContext.runAsUser",
        ),
        (
            lambda s: s["containers"][0]["securityContext"].pop("readOnlyRootFilesystem"),
            f"{POD}.containers[0].securityContext.readOnlyRootFilesystem",
        ),
        (
            lambda s: s["initContainers"][0]["resources"].pop("limits"),
            f"{POD}.initContainers[0].resources.limits.memory",
        ),
        (
            lambda s: s["containers"][0]["resources"]["requests"].pop("cpu"),
            f"{POD}.containers[0].resources.requests.cpu",
        ),
        (
            lambda s: s["containers"][0].update(image="registry.example/app:latest"),
            f"{POD}.containers[0].image",
        ),
        (
            lambda s: s["containers"][0].update(image="registry.example:5000/app"),
            f"{POD}.containers[0].image",
        ),
        (lambda s: s.update(hostNetwork=True), f"{POD}.hostNetwork"),
        (
            lambda s: s.update(volumes=[{"name": "h", "hostPath": {"path": "/"}}]),
            f"{POD}.volumes[0].hostPath",
        ),
    ],
)
def test_each_violation_is_named(mutate: Any, field: str) -> None:
    job = secure_job()
    mutate(job["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    found = violations(job)
    assert any(f"CronJob/backup: {field}:" in v for v in found), found


def test_writable_root_fs_needs_a_documented_reason() -> None:
    job = secure_job()
    template = job["spec"]["jobTemplate"]["spec"]["template"]
    for container in template["spec"]["containers"] + template["spec"]["initContainers"]:
        container["securityContext"]["readOnlyRootFilesystem"] = False
    assert len(violations(job)) == 2
    template["metadata"]["annotations"] = {policy.WRITABLE_ROOT_FS_ANNOTATION: "pg writes /run"}
    assert violations(job) == []


def test_digest_pins_an_image_without_tag() -> None:
    assert policy.image_tag_problem("repo/app@sha256:" + "0" * 64) is None
    assert policy.image_tag_problem("localhost:5000/app") is not None
    assert policy.image_tag_problem("localhost:5000/app:1.0") is None
