"""Pod Security ``restricted`` is enforced by the API server, not only by our schemas.

The values schema may already refuse ``runAsUser: 0``; ``--skip-schema-validation``
takes that guard away on purpose so this checks the second, independent one: the
namespace label ``pod-security.kubernetes.io/enforce=restricted`` and the
PodSecurity admission plugin. Controllers' pod creations are refused, so the
release has no pod at all and the events say why.
"""

from __future__ import annotations

import pytest

from charthouse.charts import all_charts

from .harness import chart_param
from .helm import Helm
from .kube import Kube, eventually

pytestmark = pytest.mark.integration

VIOLATION = 'violates PodSecurity "restricted:latest"'


@pytest.mark.parametrize(
    "chart", [chart_param(c.name, id=c.name) for c in all_charts() if c.name != "stack"]
)
def test_running_as_root_is_rejected(chart: str, helm: Helm, kube: Kube, namespace: str) -> None:
    result = helm.install_or_upgrade(
        "install",
        chart,
        chart,
        namespace,
        set_values=["securityContext.runAsUser=0", "securityContext.runAsNonRoot=false"],
        extra=("--skip-schema-validation",),
        wait=False,
    )
    assert result.ok, result.stderr  # the workload objects themselves are accepted...

    def refusals() -> list[str]:
        return [
            e["message"]
            for e in kube.events(namespace)
            if e.get("reason") == "FailedCreate" and VIOLATION in e.get("message", "")
        ]

    # ...but every pod they try to create is refused, naming the offending field.
    messages = eventually(refusals, timeout=60, what="PodSecurity to refuse the pods")
    assert any("runAsUser=0" in m or "runAsNonRoot" in m for m in messages), messages
    assert kube.pods(namespace) == []
    # The API server also warned at install time, which helm shows to the user.
    assert "would violate PodSecurity" in result.stderr
