"""Driving ``charthouse rollout`` as a user does (the CLI, in a subprocess), and the few
pieces its integration tests need around it.

Two of them stand in for what a kwok node cannot do, and say so in their names:
``SimulatedSmokeResults`` plays the kubelet for the smoke-test pods (a kwok node runs
no container, so nothing would ever answer), and ``refuse_version`` keeps the pods of
one version from being created at all (a real ValidatingAdmissionPolicy: on kwok, the
only way a new version can "never become ready").
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from .kube import Kube, eventually

SMOKE_SELECTOR = "app.kubernetes.io/component=rollout-smoke"
VERSION_LABEL = "app.kubernetes.io/version"


def runs_containers(cluster: Any, kube: Kube) -> bool:
    """Whether pods really run: the session cluster says so (main's conftest), or no
    node is a kwok one (annotation ``kwok.x-k8s.io/node: fake``)."""
    flag = getattr(cluster, "runs_containers", None)
    if flag is not None:
        return bool(flag)
    return any(
        (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") != "fake"
        for n in kube.items("v1", "Node")
    )


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


@dataclass(frozen=True)
class RolloutCli:
    """``charthouse rollout ACTION RELEASE -n NAMESPACE --helm N`` against the test cluster."""

    kubeconfig: Path
    namespace: str
    helm_major: int

    def argv(self, action: str, release: str, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "charthouse",
            "rollout",
            action,
            release,
            "-n",
            self.namespace,
            "--helm",
            str(self.helm_major),
            *args,
        ]

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def run(self, action: str, release: str, *args: str, timeout: float = 600) -> Result:
        done = subprocess.run(
            self.argv(action, release, *args),
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def background(self, action: str, release: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(action, release, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
        )

    def status(self, release: str) -> dict[str, Any]:
        result = self.run("status", release, "--output", "json", timeout=120)
        assert result.returncode == 0, result.stderr
        return result.json()

    def wait_for_step(
        self, release: str, kind_label: str, *, timeout: float = 180
    ) -> dict[str, Any]:
        """Poll ``status`` until the rollout's current step label starts with ``kind_label``."""
        found: dict[str, Any] = eventually(
            lambda: (
                (s := self.status(release))
                .get("rollout", {})
                .get("current", "")
                .startswith(kind_label)
                and s
            ),
            timeout=timeout,
            what=f"the rollout of {release} to reach {kind_label!r}",
        )
        return found


def finish(process: subprocess.Popen[str], timeout: float = 600) -> Result:
    out, err = process.communicate(timeout=timeout)
    return Result(process.returncode, out, err)


def history(helm: Any, release: str, namespace: str) -> list[dict[str, Any]]:
    out = helm.run("history", release, "--namespace", namespace, "--output", "json").check()
    entries: list[dict[str, Any]] = json.loads(out.stdout)
    return entries


def revision_values(helm: Any, release: str, namespace: str, revision: int) -> dict[str, Any]:
    """The user-supplied values of one revision, as that step of the rollout wrote them."""
    args = ("get", "values", release, "--namespace", namespace, "--revision", str(revision))
    out = helm.run(*args, "--output", "json").check()
    found: dict[str, Any] = json.loads(out.stdout) or {}
    return found


def rollout_secret(kube: Kube, namespace: str) -> list[str]:
    return [
        s["metadata"]["name"]
        for s in kube.items("v1", "Secret", namespace, labels="app.kubernetes.io/component=rollout")
    ]


@contextmanager
def simulated_smoke_results(
    kube: Kube, namespace: str, message: str, *, passed: bool
) -> Iterator[list[str]]:
    """SIMULATION (kwok nodes only): finish each smoke-test pod as a kubelet would after
    its container exited with ``passed``/``message``. Yields the names of the pods seen."""
    core = client.CoreV1Api(kube.api_client)
    seen: list[str] = []
    stop = threading.Event()

    def kubelet() -> None:
        while not stop.is_set():
            for pod in kube.pods(namespace, labels=SMOKE_SELECTOR):
                name = pod["metadata"]["name"]
                if name in seen or pod["metadata"].get("deletionTimestamp"):
                    continue
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                status = {
                    "phase": "Succeeded" if passed else "Failed",
                    "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}],
                    "containerStatuses": [
                        {
                            "name": "smoke",
                            "image": pod["spec"]["containers"][0]["image"],
                            "imageID": "",
                            "ready": False,
                            "restartCount": 0,
                            "state": {
                                "terminated": {
                                    "exitCode": 0 if passed else 1,
                                    "reason": "Completed" if passed else "Error",
                                    "message": message,
                                    "startedAt": now,
                                    "finishedAt": now,
                                }
                            },
                        }
                    ],
                }
                try:
                    core.patch_namespaced_pod_status(
                        name, namespace, [{"op": "replace", "path": "/status", "value": status}]
                    )
                except client.exceptions.ApiException:
                    continue  # deleted meanwhile, or not scheduled yet: next round
                seen.append(name)
            stop.wait(0.2)

    thread = threading.Thread(target=kubelet, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def refuse_version(kube: Kube, namespace: str, version: str) -> Iterator[None]:
    """A ValidatingAdmissionPolicy, bound to ``namespace``, refusing every pod of
    ``version``: its Deployment's pods are never created, so it never becomes ready."""
    name = f"refuse-{namespace}-{secrets.token_hex(2)}"[:63]
    expression = (
        f"!has(object.metadata.labels) || !('{VERSION_LABEL}' in object.metadata.labels) || "
        f"object.metadata.labels['{VERSION_LABEL}'] != '{version}'"
    )
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [{"expression": expression, "message": f"{version} may not run"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    kube.create(policy)
    kube.create(binding)
    try:
        _wait_until_refused(kube, namespace, version)
        yield
    finally:
        kube.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", name)
        kube.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", name)


def _wait_until_refused(kube: Kube, namespace: str, version: str) -> None:
    """Policies take effect a moment after they are created: probe with a dry-run pod."""
    core = client.CoreV1Api(kube.api_client)
    probe: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "policy-probe", "labels": {VERSION_LABEL: version}},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "c",
                    "image": "example.invalid/probe:1",
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "runAsUser": 1000,
                    },
                }
            ],
        },
    }

    def refused() -> bool:
        try:
            core.create_namespaced_pod(namespace, probe, dry_run="All")  # type: ignore[arg-type]
        except client.exceptions.ApiException as exc:
            return exc.status in (400, 403, 422) and "may not run" in str(exc.body)
        return False

    eventually(refused, timeout=30, what=f"the admission policy refusing {version}")


def descriptions(entries: Sequence[dict[str, Any]]) -> list[str]:
    return [e.get("description", "") for e in entries]
