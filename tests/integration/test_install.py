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
from charthouse.render_choices import DEFAULT_KUBE_VERSION

from .harness import Deployer, chart_param
from .helm import Helm

pytestmark = pytest.mark.integration

# How the ingress chart refuses an option the Traefik it runs lacks (the embedded
# cluster runs v3.6.12, the newest Traefik that builds here; the chart defaults to v3.7).
NEEDS_NEWER_TRAEFIK = "needs Traefik v3.7 or later"


def _skip_if_the_cluster_traefik_is_too_old(
    chart: str, values_files: list[Path], helm: Helm
) -> None:
    """A scenario using v3.7-only options is refused by the chart on an older Traefik
    (unit-tested); here it is skipped with the chart's own message, and runs on kind."""
    rendered = helm.install_or_upgrade(
        "template",
        "scenario",
        chart,
        "default",
        values_files=values_files,
        wait=False,
        extra=["--kube-version", DEFAULT_KUBE_VERSION],
    )
    if not rendered.ok and NEEDS_NEWER_TRAEFIK in rendered.stderr:
        refusal = next(line for line in rendered.stderr.splitlines() if NEEDS_NEWER_TRAEFIK in line)
        pytest.skip(f"this cluster's Traefik is older than the scenario needs: {refusal}")


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
    values_files = [values_file] if values_file else []
    _skip_if_the_cluster_traefik_is_too_old(chart, values_files, helm)
    release = deploy(chart, helm, values_files=values_files)

    tested = helm.test(release.name, release.namespace)

    # A failed test pod stays (hooks delete only succeeded ones): its exit and output say why.
    assert tested.ok, f"helm test failed:\n{tested.stderr}\n{deploy.why_not_ready()}"
    # A chart without test hooks would "pass" vacuously; every chart must ship one.
    assert "Phase:" in tested.stdout and "Succeeded" in tested.stdout, tested.stdout
    assert "Failed" not in tested.stdout
