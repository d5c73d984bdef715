"""Security policy for every pod template a chart renders (Jobs, CronJobs, init
containers and ``helm test`` pods included): Pod Security ``restricted`` plus the
production rules we promise users (read-only root fs, resources, pinned images).

Each check returns :class:`PolicyViolation`s naming the object and the exact field,
so a failure says what to change rather than which rule tripped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from charthouse.manifests import Manifests, PodTemplate, ref

# A pod template may opt out of a read-only root filesystem only by saying why.
WRITABLE_ROOT_FS_ANNOTATION = "charthouse.dev/writable-root-fs"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class PolicyViolation:
    object_ref: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.object_ref}: {self.field}: {self.message}"


def _containers(pod: PodTemplate) -> Iterator[tuple[str, dict[str, Any]]]:
    base = ".".join(pod.path)
    for list_name in CONTAINER_LISTS:
        for index, container in enumerate(pod.spec.get(list_name) or []):
            yield f"{base}.{list_name}[{index}]", container


def _effective(pod_sc: Mapping[str, Any], container_sc: Mapping[str, Any], key: str) -> Any:
    """Container-level securityContext wins over the pod-level one (Kubernetes rule)."""
    return container_sc[key] if key in container_sc else pod_sc.get(key)


def check_pod(pod: PodTemplate) -> list[PolicyViolation]:
    owner = ref(pod.owner)
    problems: list[PolicyViolation] = []

    def fail(field: str, message: str) -> None:
        problems.append(PolicyViolation(owner, field, message))

    spec_path = ".".join(pod.path)
    pod_sc: Mapping[str, Any] = pod.spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(flag):
            fail(f"{spec_path}.{flag}", "must not be true")
    for index, volume in enumerate(pod.spec.get("volumes") or []):
        if "hostPath" in volume:
            fail(f"{spec_path}.volumes[{index}].hostPath", "hostPath volumes are not allowed")
    writable_reason = (pod.metadata.get("annotations") or {}).get(WRITABLE_ROOT_FS_ANNOTATION)

    for field, container in _containers(pod):
        sc: Mapping[str, Any] = container.get("securityContext") or {}
        if _effective(pod_sc, sc, "runAsNonRoot") is not True:
            fail(f"{field}.securityContext.runAsNonRoot", "must be true (pod or container level)")
        if _effective(pod_sc, sc, "runAsUser") == 0:
            fail(f"{field}.securityContext.runAsUser", "must not be 0 (root)")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(f"{field}.securityContext.allowPrivilegeEscalation", "must be false")
        if sc.get("privileged"):
            fail(f"{field}.securityContext.privileged", "must not be true")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            fail(f"{field}.securityContext.capabilities.drop", "must include ALL")
        added = [c for c in caps.get("add") or [] if c != "NET_BIND_SERVICE"]
        if added:
            fail(f"{field}.securityContext.capabilities.add", f"must not add {added}")
        seccomp = _effective(pod_sc, sc, "seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            fail(f"{field}.securityContext.seccompProfile.type", "must be RuntimeDefault")
        if sc.get("readOnlyRootFilesystem") is not True and not writable_reason:
            fail(
                f"{field}.securityContext.readOnlyRootFilesystem",
                f"must be true (or annotate the pod with {WRITABLE_ROOT_FS_ANNOTATION}: <why>)",
            )
        if not field.split(".")[-1].startswith("ephemeralContainers"):
            problems.extend(_resource_problems(owner, field, container))
        problems.extend(_image_problems(owner, field, container))
    return problems


def _resource_problems(
    owner: str, field: str, container: Mapping[str, Any]
) -> list[PolicyViolation]:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    problems = [
        PolicyViolation(owner, f"{field}.resources.requests.{name}", "must be set")
        for name in ("cpu", "memory")
        if name not in requests
    ]
    if "memory" not in limits:
        problems.append(PolicyViolation(owner, f"{field}.resources.limits.memory", "must be set"))
    return problems


def image_tag_problem(image: str) -> str | None:
    """Why ``image`` is not pinned, or None. A digest always pins."""
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (pin a version)"
    if last.rsplit(":", 1)[1] in ("", "latest"):
        return f"image {image!r} uses the latest tag (pin a version)"
    return None


def _image_problems(owner: str, field: str, container: Mapping[str, Any]) -> list[PolicyViolation]:
    problem = image_tag_problem(str(container.get("image", "")))
    return [PolicyViolation(owner, f"{field}.image", problem)] if problem else []


def check(manifests: Manifests) -> list[PolicyViolation]:
    """All policy violations across every pod template in ``manifests``."""
    problems: list[PolicyViolation] = []
    for pod in manifests.pod_templates():
        problems.extend(check_pod(pod))
    return problems
