"""What the shared layer in ``charts/common`` promises every chart that uses it, checked
once for all of them (per-chart files check only what is particular to a chart):

- one PodDisruptionBudget rule: minAvailable and maxUnavailable exclude each other
  (the schema refuses both, naming the field), and with neither the budget is
  maxUnavailable 1, which never blocks a node drain;
- one pod-scheduling block: nodeSelector, tolerations, affinity,
  topologySpreadConstraints and priorityClassName reach every workload's pods, and
  a spread constraint without a labelSelector selects the workload's own pods;
- every namespaced object names its namespace as a quoted string, so a namespace
  such as ``"123"`` stays a string;
- a ServiceAccount name that looks like a number (``"0123"``) stays a string wherever
  it is written: the ServiceAccount, the pods that run as it, the RBAC subjects; so
  does a ``fullnameOverride`` YAML would read as a number or a boolean (``"123"``,
  ``"on"``), in every object that names it.
"""

from __future__ import annotations

import re

import pytest

from charthouse.validate import check_objects
from support.rendering import names_field, render, render_error, render_text

PDB_CHARTS = ("app", "database", "ingress", "cache")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@pytest.mark.parametrize("chart", PDB_CHARTS)
def test_a_pdb_with_neither_bound_allows_one_pod_at_a_time(chart: str) -> None:
    values = {
        "podDisruptionBudget": {"enabled": True, "minAvailable": None, "maxUnavailable": None}
    }
    (pdb,) = render(chart, values).of_kind("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]


@pytest.mark.parametrize("chart", PDB_CHARTS)
@pytest.mark.parametrize("bound", ["minAvailable", "maxUnavailable"])
def test_a_pdb_takes_the_one_bound_it_is_given(chart: str, bound: str) -> None:
    other = {"minAvailable": "maxUnavailable", "maxUnavailable": "minAvailable"}[bound]
    values = {"podDisruptionBudget": {"enabled": True, bound: "50%", other: None}}
    (pdb,) = render(chart, values).of_kind("PodDisruptionBudget")
    assert pdb["spec"][bound] == "50%" and other not in pdb["spec"]


@pytest.mark.parametrize("chart", PDB_CHARTS)
def test_a_pdb_with_both_bounds_is_refused_naming_the_field(chart: str) -> None:
    values = {"podDisruptionBudget": {"enabled": True, "minAvailable": 1, "maxUnavailable": 1}}
    assert names_field(render_error(chart, values), "podDisruptionBudget")


SCHEDULING = {
    "nodeSelector": {"disktype": "ssd"},
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
        }
    ],
    "priorityClassName": "high",
}


@pytest.mark.parametrize("chart", PDB_CHARTS)
def test_every_workload_takes_the_scheduling_values(chart: str) -> None:
    workloads = [o for o in render(chart, SCHEDULING).objects if o["kind"] in WORKLOADS]
    assert workloads
    for workload in workloads:
        spec = workload["spec"]["template"]["spec"]
        for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName"):
            assert spec[key] == SCHEDULING[key], (workload["metadata"]["name"], key)
        (constraint,) = spec["topologySpreadConstraints"]
        own_pods = workload["spec"]["selector"]["matchLabels"]
        assert constraint["labelSelector"] == {"matchLabels": own_pods}


@pytest.mark.parametrize("chart", ("app", "database", "ingress", "cache", "stack"))
def test_namespaces_are_quoted_strings(chart: str) -> None:
    text = render_text(chart, namespace="123")
    lines = re.findall(r"^\s*namespace: (.*)$", text, flags=re.M)
    assert lines and set(lines) == {'"123"'}
    for obj in render(chart, namespace="123").objects:
        if "namespace" in obj["metadata"]:
            assert obj["metadata"]["namespace"] == "123"


@pytest.mark.parametrize("chart", PDB_CHARTS)
def test_a_numeric_looking_service_account_name_stays_a_string(chart: str) -> None:
    objects = render(chart, {"serviceAccount": {"create": True, "name": "0123"}}).objects
    accounts = [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"]
    assert accounts == ["0123"]
    pod_specs = [o["spec"]["template"]["spec"] for o in objects if o["kind"] in WORKLOADS]
    assert pod_specs and all(spec["serviceAccountName"] == "0123" for spec in pod_specs)
    subjects = [
        subject
        for o in objects
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in o.get("subjects") or []
        if subject["kind"] == "ServiceAccount"
    ]
    assert all(subject["name"] == "0123" for subject in subjects), subjects


# Each chart with the features on whose objects name the workload by its full name.
NAMED_BY_FULLNAME = {
    "app": {"ingress": {"enabled": True}, "autoscaling": {"enabled": True}},
    "database": {},
    "ingress": {"autoscaling": {"enabled": True}},
    "cache": {},
}


@pytest.mark.parametrize("chart", sorted(NAMED_BY_FULLNAME))
@pytest.mark.parametrize("fullname", ["123", "on"])
def test_a_fullname_yaml_would_retype_stays_a_string(chart: str, fullname: str) -> None:
    manifests = render(chart, {**NAMED_BY_FULLNAME[chart], "fullnameOverride": fullname})
    assert check_objects(manifests, "1.37.0") == []
    assert fullname in {o["metadata"]["name"] for o in manifests.objects}
