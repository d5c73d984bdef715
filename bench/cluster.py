"""Cluster benchmark: what the real-node harness costs, in figures printed side by side.

1. ``cluster up`` to node Ready and CoreDNS Available, tools and images warm: on a
   fresh state dir (new certificates, empty etcd) and warm (state reused), each
   followed by ``down``. kind publishes 12-36 s for the same milestone; goal <= 10 s.
2. The first real pod Ready after ``up`` (goal <= 2 s) and the idle cluster's
   total RSS (goal <= 1.2 GB).
3. The cold build time the node and its images add on a fresh machine, from the
   times recorded when each was built.
4. Per chart (default values): ``helm install --wait`` until every workload is
   kstatus-Current, helm 3 and helm 4.
5. The whole integration suite (``make test-integration``), unless ``--no-suite``,
   with its 10 slowest tests.

The real node is one per machine: the benchmark brings down a running cluster
first and leaves none running. Nothing is asserted; goals are printed next to
the figures.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from charthouse import paths, tools
from charthouse.charts import all_charts
from charthouse.cluster import provider as providers
from charthouse.cluster.providers.embedded import teardown
from charthouse.cluster.providers.embedded.cluster import COMPONENTS, TOOLS, EmbeddedCluster
from charthouse.cluster.providers.embedded.kubelet import CGROUP_ROOT

sys.path.insert(0, str(paths.REPO_ROOT / "tests"))
from integration import pods
from integration.conftest import RESTRICTED
from integration.helm import Helm
from integration.images import embedded_values
from integration.kube import Kube, eventually

UP_GOAL_S = 10.0
POD_GOAL_S = 2.0
RSS_GOAL_MB = 1200.0


def _rss_mb(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _cluster_pids(cluster: EmbeddedCluster) -> set[int]:
    pids = {cluster.component(name).pid() for name in COMPONENTS["real"]}
    pids |= set(teardown.node_processes(cluster.node_dir, CGROUP_ROOT))
    return {pid for pid in pids if pid is not None}


def _first_pod_ready(kubeconfig: Path) -> float:
    kube = Kube(kubeconfig)
    namespace = f"bench-{secrets.token_hex(3)}"
    kube.create_namespace(namespace, RESTRICTED)
    eventually(lambda: kube.get("v1", "ServiceAccount", "default", namespace), timeout=30)
    started = time.perf_counter()
    kube.create(pods.pod("first", namespace, "exec sleep 600", restart="Always"))
    pods.ready(kube, "first", namespace)
    return time.perf_counter() - started


def bench_up() -> None:
    providers.get("embedded", nodes="real").down()  # the machine's one node
    with tempfile.TemporaryDirectory(prefix="charthouse-bench-") as tmp:
        cluster = EmbeddedCluster(Path(tmp) / "cluster", nodes="real")
        ups: list[float] = []
        pod_ready = rss = 0.0
        for attempt in range(4):
            started = time.perf_counter()
            kubeconfig = cluster.up()
            ups.append(time.perf_counter() - started)
            if attempt == 1:
                pod_ready = _first_pod_ready(kubeconfig)
                time.sleep(5)  # let start-up work settle before measuring idle memory
                rss = _rss_mb(_cluster_pids(cluster))
            cluster.down()
    first, warm = ups[0], min(ups[1:])
    print(
        f"cluster up -> node Ready + CoreDNS Available: fresh state {first:.1f} s, "
        f"warm best {warm:.1f} s (runs {', '.join(f'{u:.1f}' for u in ups[1:])}; "
        f"goal <= {UP_GOAL_S:.0f} s; kind publishes 12-36 s)"
    )
    print(f"first pod Ready after up: {pod_ready:.2f} s (goal <= {POD_GOAL_S:.0f} s)")
    print(f"idle cluster RSS, all processes: {rss:.0f} MB (goal <= {RSS_GOAL_MB:.0f} MB)")


def bench_cold_builds() -> None:
    pins = tools.load_pins()
    node_only = sorted(set(TOOLS["real"]) - set(TOOLS["kwok"]) | {"kubectl"})
    recorded = {name: tools.build_seconds(pins.tools[name]) for name in node_only}
    known = {name: s for name, s in recorded.items() if s is not None}
    missing = sorted(set(recorded) - set(known))
    print(
        f"cold builds added by the real node: {sum(known.values()) / 60:.1f} min over "
        f"{len(known)} tools" + (f" (not timed here: {', '.join(missing)})" if missing else "")
    )
    try:
        from charthouse import images
    except ImportError:
        return
    timed = images.build_seconds()
    if timed:
        print(
            f"cold image builds: {sum(timed.values()) / 60:.1f} min over {len(timed)} images "
            f"({', '.join(f'{k} {v:.0f}s' for k, v in sorted(timed.items()))})"
        )


def bench_installs() -> None:
    provider = providers.get("auto")
    kubeconfig = provider.up()
    kube = Kube(kubeconfig)
    try:
        print(f"{'chart':12} {'helm':>5} {'install-to-ready s':>19}")
        for chart in all_charts():
            for major in (3, 4):
                # the tests' own image overrides (the embedded cluster's Traefik tag)
                cluster_values = embedded_values if provider.name == "embedded" else None
                helm = Helm.for_major(major, kubeconfig, cluster_values)
                helm.prepare(chart.name)
                namespace = f"bench-{chart.name}-{secrets.token_hex(3)}"
                kube.create_namespace(namespace, RESTRICTED)
                eventually(lambda ns=namespace: kube.get("v1", "ServiceAccount", "default", ns))
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
        provider.down()


def bench_suite() -> None:
    started = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "test-integration", "PYTEST_EXTRA=--durations=10"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    lines = result.stdout.strip().splitlines() or ["(no output)"]
    slowest = False
    for line in lines:
        if "slowest" in line and "durations" in line:
            slowest = True
            print("  10 slowest:")
            continue
        if slowest and line.strip() and line[0].isdigit():
            print(f"    {line}")
        elif slowest and not line.strip():
            slowest = False
        if line.startswith(("FAILED", "ERROR")):
            print(f"  {line}")
    summaries = [line for line in lines if " passed" in line or " failed" in line]
    print(f"integration suite (make test-integration): {elapsed:.0f} s ({'; '.join(summaries)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-suite", action="store_true", help="skip the whole-suite run")
    args = parser.parse_args()
    bench_cold_builds()
    bench_up()
    bench_installs()
    if not args.no_suite:
        bench_suite()


if __name__ == "__main__":
    main()
