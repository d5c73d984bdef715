"""Why a pod is not ready, named the way a person fixes it: pod, container, cause."""

from __future__ import annotations

from typing import Any

from charthouse.cluster.diagnose import explain, explain_pod


def _pod(name: str, *, statuses: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "app"}], **spec},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": statuses,
        },
    }


def test_a_crashing_container_shows_its_exit_and_what_it_printed() -> None:
    pod = _pod(
        "db-0",
        statuses=[
            {
                "name": "postgres",
                "ready": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
            }
        ],
    )

    def logs(pod: str, container: str, previous: bool) -> str:
        assert (pod, container, previous) == ("db-0", "postgres", True)
        return 'FATAL:  unrecognized configuration parameter "max_conections"\n'

    (line,) = explain_pod(pod, logs=logs)
    assert line.startswith("pod db-0: container postgres: CrashLoopBackOff")
    assert "last exit 1 (Error)" in line
    assert 'unrecognized configuration parameter "max_conections"' in line


def test_a_failing_readiness_probe_is_named_with_its_last_message() -> None:
    pod = _pod(
        "api-1",
        statuses=[{"name": "app", "ready": False, "state": {"running": {}}}],
        containers=[
            {"name": "app", "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}}
        ],
    )
    events = [
        {
            "involvedObject": {"kind": "Pod", "name": "api-1", "fieldPath": "spec.containers{app}"},
            "reason": "Unhealthy",
            "message": "Readiness probe failed: HTTP probe failed with statuscode: 404",
        }
    ]
    (line,) = explain_pod(pod, events)
    assert line == (
        "pod api-1: container app: readiness probe (httpGet http://:8080/ready) failing: "
        "Readiness probe failed: HTTP probe failed with statuscode: 404"
    )


def test_an_image_that_cannot_be_pulled_says_which() -> None:
    pod = _pod(
        "web",
        statuses=[
            {
                "name": "app",
                "ready": False,
                "state": {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": 'Back-off pulling image "example/missing:1"',
                    }
                },
            }
        ],
    )
    assert explain_pod(pod) == [
        'pod web: container app: ImagePullBackOff: Back-off pulling image "example/missing:1"'
    ]


def test_unschedulable_and_failed_init_containers() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {"initContainers": [{"name": "wait"}], "containers": [{"name": "app"}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "message": "0/1 nodes: Insufficient cpu",
                }
            ],
            "initContainerStatuses": [
                {"name": "wait", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}
            ],
        },
    }
    lines = explain_pod(pod, logs=lambda *_: "nc: bad address\n")
    assert lines == [
        "pod p: not scheduled: 0/1 nodes: Insufficient cpu",
        "pod p: init container wait: exited 2 (Error); it printed: nc: bad address",
    ]


def test_ready_and_completed_pods_have_nothing_to_say() -> None:
    ready = _pod("ok", statuses=[])
    ready["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    done = _pod("job", statuses=[])
    done["status"]["phase"] = "Succeeded"
    assert explain([ready, done]) == []
