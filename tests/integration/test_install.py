"""Every chart x every ``ci/`` scenario, with helm 3 and helm 4: install, ready, ``helm test``.

"Ready" is checked twice: helm's own ``--wait`` (what users run), then our
kstatus-style wait over every Deployment, StatefulSet, DaemonSet, Job and PVC in
the release manifest, which names the object and the reason when something is
not ready. Each install goes into a fresh namespace enforcing Pod Security
``restricted``, so a non-compliant pod (init containers, Jobs, test hooks
included) fails the test here, at admission.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse.charts import all_charts

from .harness import Deployer, chart_param
from .helm import Helm

pytestmark = pytest.mark.integration


def _scenarios() -> list[object]:
    params: list[object] = []
    for chart in all_charts():
        files = chart.scenarios()
        if not any(path.name == "default-values.yaml" for path in files):
            params.append(chart_param(chart.name, None, id=f"{chart.name}:defaults"))
        params += [chart_param(chart.name, path, id=f"{chart.name}:{path.name}") for path in files]
    return params


@pytest.mark.parametrize(("chart", "values_file"), _scenarios())
def test_install_ready_and_helm_test(
    chart: str, values_file: Path | None, helm: Helm, deploy: Deployer
) -> None:
    release = deploy(chart, helm, values_files=[values_file] if values_file else [])

    tested = helm.test(release.name, release.namespace)

    assert tested.ok, f"helm test failed:\n{tested.stderr}\n{tested.stdout}"
    # A chart without test hooks would "pass" vacuously; every chart must ship one.
    assert "Phase:" in tested.stdout and "Succeeded" in tested.stdout, tested.stdout
    assert "Failed" not in tested.stdout
