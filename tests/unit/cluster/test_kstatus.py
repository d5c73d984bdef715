"""kstatus-style readiness verdicts, on objects shaped as the API server returns them."""

from __future__ import annotations

from typing import Any

from charthouse.cluster import kstatus


def deployment(**status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "d", "generation": 2},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": 2, **status},
    }


def test_deployment_current_only_when_all_replicas_updated_and_available() -> None:
    done = deployment(replicas=3, updatedReplicas=3, readyReplicas=3, availableReplicas=3)
    assert kstatus.compute(done).current
    rolling = deployment(replicas=4, updatedReplicas=3, readyReplicas=3, availableReplicas=3)
    verdict = kstatus.compute(rolling)
    assert verdict.status == kstatus.IN_PROGRESS and "old replicas" in verdict.reason


def test_unobserved_generation_is_in_progress_whatever_the_counts() -> None:
    stale = deployment(replicas=3, updatedReplicas=3, readyReplicas=3, availableReplicas=3)
    stale["status"]["observedGeneration"] = 1
    assert "generation 2" in kstatus.compute(stale).reason


def test_progress_deadline_is_a_failure() -> None:
    stuck = deployment(
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "slow",
            }
        ]
    )
    assert kstatus.compute(stuck).status == kstatus.FAILED


def test_statefulset_waits_for_the_new_revision() -> None:
    sts: dict[str, Any] = {
        "kind": "StatefulSet",
        "metadata": {"name": "s", "generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "readyReplicas": 1,
            "updatedReplicas": 1,
            "currentRevision": "a",
            "updateRevision": "b",
        },
    }
    assert not kstatus.compute(sts).current
    sts["status"]["currentRevision"] = "b"
    assert kstatus.compute(sts).current


def test_job_pvc_pod() -> None:
    job: dict[str, Any] = {
        "kind": "Job",
        "metadata": {"name": "j", "generation": 1},
        "status": {"active": 1},
    }
    assert kstatus.compute(job).status == kstatus.IN_PROGRESS
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert kstatus.compute(job).current
    job["status"]["conditions"] = [{"type": "Failed", "status": "True", "message": "backoff"}]
    assert kstatus.compute(job) == kstatus.Verdict(kstatus.FAILED, "backoff")
    pvc = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p"},
        "status": {"phase": "Pending"},
    }
    assert not kstatus.compute(pvc).current
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert kstatus.compute(pod).current


def test_kinds_without_rollout_are_current_and_deletion_is_not() -> None:
    assert kstatus.compute({"kind": "ConfigMap", "metadata": {"name": "c"}}).current
    going = {"kind": "ConfigMap", "metadata": {"name": "c", "deletionTimestamp": "now"}}
    assert not kstatus.compute(going).current
