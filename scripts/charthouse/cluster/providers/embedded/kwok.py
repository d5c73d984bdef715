"""SIMULATION: fake nodes and pod lifecycles for ``--nodes kwok`` (scale scenarios), by kwok.

No kubelet and no container runtime run here. kwok watches nodes and pods and
writes the status a kubelet would write, following the *stages* below:

* ``node-initialize``: a node annotated ``kwok.x-k8s.io/node: fake`` becomes Ready;
  kwok then renews its Lease so the node lifecycle controller keeps it Ready.
* ``pod-ready``: a scheduled pod becomes Running and Ready, gets a pod IP and
  container statuses (init containers Completed, sidecars running).
* ``pod-complete-job`` / ``pod-complete-helm-test``: a running pod that belongs to a
  Job, or is a bare ``helm test`` hook pod, becomes Succeeded with exit code 0 — so
  Jobs complete and ``helm test`` passes.
* ``pod-delete``: a pod marked for deletion is removed (there is nothing to stop).

What this proves and what it does not: the API server really admits every object
(schema, RBAC, Pod Security, immutable fields), the real controllers create
ReplicaSets/pods/PVC bindings, the real scheduler binds pods to nodes, and helm
waits on real status. No image is pulled, no process runs: a ``helm test`` pod
"succeeds" without executing its command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charthouse import atomicfile
from charthouse.cluster.providers.embedded.network import CLUSTER_CIDR, SIMULATED_NODE_IP

NODE_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
NODE_COUNT = 3
ZONES = ("zone-a", "zone-b", "zone-c")
HELM_TEST_HOOKS = ("test", "test-success")

_NODE_STATUS = """\
{{ $now := Now }}
{{ $since := or .metadata.creationTimestamp $now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $since | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
addresses:
- address: {{ NodeIP | Quote }}
  type: InternalIP
- address: {{ .metadata.name | Quote }}
  type: Hostname
allocatable:
{{ YAML .status.allocatable 1 }}
capacity:
{{ YAML .status.capacity 1 }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
  kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
  kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
  kernelVersion: simulated
  osImage: simulated by kwok
  bootID: ""
  machineID: ""
  systemUUID: ""
phase: Running
"""

_POD_RUNNING_STATUS = """\
{{ $now := Now }}
conditions:
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ range .spec.readinessGates }}
- {type: {{ .conditionType | Quote }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  started: true
  restartCount: 0
  state: {running: {startedAt: {{ $now | Quote }}}}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  restartCount: 0
  {{ if eq .restartPolicy "Always" }}
  ready: true
  started: true
  state: {running: {startedAt: {{ $now | Quote }}}}
  {{ else }}
  ready: true
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
  {{ end }}
{{ end }}
{{ with NodeIPsWith .spec.nodeName }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ with PodIPsWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
"""

_POD_SUCCEEDED_STATUS = """\
{{ $now := Now }}
conditions:
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
- type: ContainersReady
  status: "False"
  reason: PodCompleted
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "False"
  reason: PodCompleted
  lastTransitionTime: {{ $now | Quote }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
"""


def _stage(
    name: str, kind: str, expressions: list[dict[str, Any]], nxt: dict[str, Any], delay_ms: int = 0
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceRef": {"apiGroup": "v1", "kind": kind},
        "selector": {"matchExpressions": expressions},
        "next": nxt,
    }
    if delay_ms:
        spec["delay"] = {"durationMilliseconds": delay_ms}
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": spec,
    }


def _key(key: str, operator: str, *values: str) -> dict[str, Any]:
    """A selector on a jq-style path (kwok's own stages use these; its CEL environment
    cannot resolve typed list elements such as node conditions)."""
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


_NOT_DELETED = _key(".metadata.deletionTimestamp", "DoesNotExist")
_RUNNING = _key(".status.phase", "In", "Running")


def stages() -> list[dict[str, Any]]:
    """The kwok stage objects, documented in this module's docstring."""
    ready = '.status.conditions.[] | select( .type == "Ready" ) | .status'
    return [
        _stage(
            "node-initialize",
            "Node",
            [_key(ready, "NotIn", "True")],
            {"statusTemplate": _NODE_STATUS},
        ),
        _stage(
            "pod-ready",
            "Pod",
            [
                _NOT_DELETED,
                _key(".spec.nodeName", "Exists"),
                _key(".status.phase", "In", "Pending"),
                _key(ready, "NotIn", "True"),
            ],
            {"statusTemplate": _POD_RUNNING_STATUS},
        ),
        _stage(
            "pod-complete-job",
            "Pod",
            [_NOT_DELETED, _RUNNING, _key(".metadata.ownerReferences.[].kind", "In", "Job")],
            {"statusTemplate": _POD_SUCCEEDED_STATUS},
        ),
        _stage(
            "pod-complete-helm-test",
            "Pod",
            [
                _NOT_DELETED,
                _RUNNING,
                _key('.metadata.annotations["helm.sh/hook"]', "In", *HELM_TEST_HOOKS),
            ],
            {"statusTemplate": _POD_SUCCEEDED_STATUS},
        ),
        _stage(
            "pod-delete",
            "Pod",
            # Controllers remove their own finalizers (e.g. Job tracking); only then is the
            # pod gone, as when a kubelet confirms termination.
            [
                _key(".metadata.deletionTimestamp", "Exists"),
                _key(".metadata.finalizers", "DoesNotExist"),
            ],
            {"delete": True},
        ),
    ]


def write_stages(path: Path) -> Path:
    """Write the stages as one multi-document YAML file for ``kwok --config``."""
    import yaml

    atomicfile.write(path, yaml.safe_dump_all(stages(), sort_keys=False), fsync=False)
    return path


def node(index: int) -> dict[str, Any]:
    """A fake node kwok will manage: spread over zones so spread constraints can be met."""
    name = f"charthouse-worker-{index}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": dict(NODE_ANNOTATION),
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "kwok-simulated",
                "topology.kubernetes.io/zone": ZONES[index % len(ZONES)],
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
        },
    }


def argv(binary: Path, *, kubeconfig: Path, stages: Path, port: int) -> list[str | Path]:
    """kwok managing only our annotated fake nodes (never a real node)."""
    annotation, value = next(iter(NODE_ANNOTATION.items()))
    return [
        binary,
        "--kubeconfig",
        kubeconfig,
        "--config",
        stages,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector",
        f"{annotation}={value}",
        "--node-lease-duration-seconds",
        "40",
        "--cidr",
        str(CLUSTER_CIDR),
        "--node-ip",
        SIMULATED_NODE_IP,
        "--server-address",
        f"127.0.0.1:{port}",
    ]
