"""Cluster benchmark: how long the integration harness makes people wait.

1. ``cluster up`` to Ready nodes, on a private embedded cluster: first up (fresh
   certificates and etcd; Go binaries already built) and warm up (state reused),
   each followed by ``down``. Goal: warm <= 10 s.
2. Per chart (default values): ``helm install --wait`` until every workload is
   kstatus-Current, helm 3 and helm 4, on the session cluster.
3. The whole integration suite (``pytest -m integration tests/integration``),
   unless ``--no-suite``. Goal: <= 3 min.

Absolute wall-clock times on this machine; the goals are absolute too.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from charthouse import paths
from charthouse.charts import all_charts
from charthouse.cluster import provider as providers
from charthouse.cluster.embedded import EmbeddedCluster

sys.path.insert(0, str(paths.REPO_ROOT / "tests"))
from integration.conftest import RESTRICTED
from integration.helm import Helm
from integration.kube import Kube

WARM_GOAL_S = 10.0
SUITE_GOAL_S = 180.0
# As `make test-integration` runs it: the suite waits on helm and controllers far more
# than it computes, so 4 workers pay off even on 2 cores.
SUITE_ARGS = ("-m", "integration", "-q", "-p", "no:randomly", "-n", "4", "tests/integration")


def timed_up_down(cluster: EmbeddedCluster) -> float:
    started = time.perf_counter()
    cluster.up()
    elapsed = time.perf_counter() - started
    cluster.down()
    return elapsed


def bench_up() -> None:
    with tempfile.TemporaryDirectory(prefix="charthouse-bench-") as tmp:
        cluster = EmbeddedCluster(Path(tmp) / "cluster")
        first = timed_up_down(cluster)
        warm = [timed_up_down(cluster) for _ in range(3)]
    best = min(warm)
    verdict = "ok" if best <= WARM_GOAL_S else "OVER GOAL"
    print(
        f"cluster up -> Ready nodes: first {first:.1f} s, warm best {best:.1f} s "
        f"(runs {', '.join(f'{w:.1f}' for w in warm)}; goal <= {WARM_GOAL_S:.0f} s: {verdict})"
    )


def bench_installs() -> None:
    provider = providers.get("auto")
    already = provider.status().running
    kubeconfig = provider.up()
    kube = Kube(kubeconfig)
    try:
        print(f"{'chart':12} {'helm':>5} {'install-to-ready s':>19}")
        for chart in all_charts():
            for major in (3, 4):
                helm = Helm.for_major(major, kubeconfig)
                helm.prepare(chart.name)
                namespace = f"bench-{chart.name}-{secrets.token_hex(3)}"
                kube.create_namespace(namespace, RESTRICTED)
                started = time.perf_counter()
                result = helm.install_or_upgrade("install", chart.name, chart.name, namespace)
                if result.ok:
                    kube.wait_current(helm.manifest(chart.name, namespace))
                    figure = f"{time.perf_counter() - started:19.1f}"
                else:
                    figure = f"{'FAILED':>19}  {result.stderr.strip().splitlines()[-1:]}"
                print(f"{chart.name:12} {major:>5} {figure}")
                # Uninstall first: cluster-scoped objects outlive a deleted namespace.
                helm.uninstall(chart.name, namespace, wait=False)
                kube.delete("v1", "Namespace", namespace)
    finally:
        if not already:
            provider.down()


def bench_suite() -> None:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *SUITE_ARGS,
        ],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    lines = result.stdout.strip().splitlines() or ["(no output)"]
    summary = lines[-1]
    for line in lines:
        if line.startswith(("FAILED", "ERROR")):
            print(f"  {line}")
    verdict = "ok" if elapsed <= SUITE_GOAL_S else "OVER GOAL"
    print(
        f"integration suite: {elapsed:.0f} s ({summary}; goal <= {SUITE_GOAL_S:.0f} s: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-suite", action="store_true", help="skip the whole-suite run")
    args = parser.parse_args()
    bench_up()
    bench_installs()
    if not args.no_suite:
        bench_suite()


if __name__ == "__main__":
    main()
