"""Upgrade from every released version of each chart to the working tree, then roll
back, with data written under the released version read after every step.

The released versions are those of the release repository as ``make release`` builds
it, from a fresh clone of the committed repository (no state of this working tree):
each release tag ``<chart>-<version>`` is checked out and released by that commit's own
charthouse, then the current commit is released, all into one temporary repository
(index.yaml and packages). Every version in it not newer than the working tree's is
installed from its package and upgraded to the working tree's chart directory.

A version equal to the working tree's is included on purpose: a working tree at a
released version is that release plus unreleased commits (the release pipeline refuses
to publish changed content without a version bump), and its users get those commits by
upgrading from the published package. That is the whole list until a second version is
released.

"Data" is what a user of each chart keeps across an upgrade:
- database: rows in a table, read with the chart's generated password (never re-given);
- cache: a key, read with the chart's generated password;
- app: its configuration (``config.env``) as the running pods see it, through the Service;
- ingress: a route to a backend of ours, requested through the controller's address;
- stack: a row written through the proxy by the example API and read back the same way.

Run with helm 3 and helm 4: they upgrade differently (three-way merge against
server-side apply), and an upgrade is where objects' field ownership matters.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import semver
import yaml

from charthouse.charts import all_charts, load_chart
from charthouse.locks import file_lock
from support import fresh_clone

from . import edge, pods, psql, stack
from .conftest import SessionCluster
from .harness import Deployer, Release, chart_param
from .helm import Helm
from .kube import Kube, eventually
from .load import burst
from .test_cache import cli_script, password_env, run_client

pytestmark = pytest.mark.integration

WHOAMI = "docker.io/traefik/whoami:v1.11.0"


def _git(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(clone), *args], capture_output=True, text=True, check=True
    ).stdout


def _release(clone: Path, repo: Path, *charts: str) -> None:
    released = fresh_clone.charthouse(
        clone, "release", "--repo-dir", str(repo), "--no-tag", *charts
    )
    assert released.returncode == 0, f"charthouse release {' '.join(charts)}:\n{released.stderr}"


def _build_release_repo(clone: Path, repo: Path) -> None:
    """Every release tag released by its own commit, then the current commit."""
    branch = _git(clone, "rev-parse", "HEAD").strip()
    tags = _git(clone, "tag", "--list", "--sort=creatordate").split()
    names = {chart.name for chart in all_charts(include_library=True)}
    for tag in tags:
        chart, _, version = tag.rpartition("-")
        if chart in names and semver.Version.is_valid(version):
            _git(clone, "checkout", "--quiet", "--detach", tag)
            _release(clone, repo, chart)
    _git(clone, "checkout", "--quiet", "--detach", branch)
    _release(clone, repo)


@pytest.fixture(scope="session")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release repository, built once per run (xdist workers share it: a lock and
    a directory next to their own temporary roots)."""
    shared = tmp_path_factory.getbasetemp().parent
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    repo = shared / f"release-repo-{head[:12]}"
    with file_lock(shared / "release-repo.lock"):
        if not (repo / "index.yaml").is_file():
            clone = fresh_clone.clone(shared / f"release-clone-{head[:12]}")
            partial = repo.with_name(repo.name + ".partial")
            _build_release_repo(clone, partial)
            partial.rename(repo)
    return repo


def released_packages(repo: Path, chart: str, current: str) -> list[tuple[str, Path]]:
    """(version, package) of every release of ``chart`` not newer than ``current``,
    oldest first."""
    index = yaml.safe_load((repo / "index.yaml").read_text()) or {}
    found = []
    for entry in index.get("entries", {}).get(chart, []):
        version = str(entry["version"])
        if semver.Version.parse(version) <= semver.Version.parse(current):
            package = repo / f"{chart}-{version}.tgz"
            assert package.is_file(), f"{repo}/index.yaml lists {chart} {version}, no package"
            found.append((version, package))
    return sorted(found, key=lambda pair: semver.Version.parse(pair[0]))


@dataclass
class Probe:
    """A chart's data: ``values`` given at install and every upgrade (as a user's values
    file is), ``write`` once under the released version, ``check`` after each step (it
    returns the figures it measured, printed by the test)."""

    write: Callable[[], None]
    check: Callable[[str], str]
    values_files: list[Path] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def _database(kube: Kube, namespace: str, release: str, provider: str) -> Probe:
    """Rows written as the application role, read back with the password the chart
    generated at install (never given again: each upgrade must keep it)."""
    rows = 100
    app = psql.Login("app", psql.from_secret(release, "password"))
    digest = "SELECT count(*) || ' ' || md5(string_agg(note, ',' ORDER BY id)) FROM upgrade_probe"
    expected: list[str] = []

    def sql(statement: str) -> psql.Answer:
        (answer,) = psql.run(
            kube,
            namespace,
            f"{release}.{namespace}.svc.cluster.local",
            [(app, statement)],
            labels={"app.kubernetes.io/instance": release},  # what the NetworkPolicy admits
        )
        return answer

    def write() -> None:
        created = sql(
            "CREATE TABLE upgrade_probe (id int PRIMARY KEY, note text);"
            f" INSERT INTO upgrade_probe SELECT g, 'row-' || g FROM generate_series(1, {rows}) g;"
            f" {digest};"
        )
        expected.append(created.value())

    def check(step: str) -> str:
        found = sql(digest)
        assert not found.refused_password, f"after {step}: the app password is refused"
        (want,) = expected
        assert found.value() == want, f"after {step}: rows {found.value()!r}, wrote {want!r}"
        return f"rows written={rows} found={found.value().split()[0]}"

    return Probe(write, check)


def _cache(kube: Kube, namespace: str, release: str, provider: str) -> Probe:
    value = secrets.token_hex(8)
    image = "docker.io/valkey/valkey:8.1.1"

    def cli(*command: str) -> str:
        return run_client(
            kube,
            namespace,
            image,
            cli_script(list(command), host=release),
            env=password_env(release),
            labels={"app.kubernetes.io/instance": release},
        ).strip()

    def write() -> None:
        assert cli("SET", "upgrade:probe", value) == "OK"

    def check(step: str) -> str:
        assert cli("GET", "upgrade:probe") == value, f"after {step}: the key is gone"
        return "keys written=1 found=1"

    return Probe(write, check)


def _app(kube: Kube, namespace: str, release: str, provider: str) -> Probe:
    mark = secrets.token_hex(6)

    def check(step: str) -> str:
        # whoami answers ?env=true with its environment: config.env as the pods see it.
        phase, out = pods.run(
            kube,
            namespace,
            "for i in $(seq 20); do wget -q -T 3 -O - "
            f"'http://{release}.{namespace}.svc/?env=true' && exit 0; sleep 1; done; exit 1",
        )
        assert phase == "Succeeded", f"after {step}: no answer through Service {release}:\n{out}"
        assert f"UPGRADE_MARK={mark}" in out, f"after {step}: config.env lost:\n{out}"
        return "config.env kept"

    return Probe(lambda: None, check, values={"config": {"env": {"UPGRADE_MARK": mark}}})


REQUESTS = 50  # per check, through the controller's address


def _ingress(kube: Kube, namespace: str, release: str, provider: str) -> Probe:
    """A backend of ours behind an Ingress of the controller's class."""
    name = f"backend-{secrets.token_hex(3)}"
    host = f"{name}.example.com"  # a host of this test's only

    def write() -> None:
        backend = pods.pod(
            name,
            namespace,
            "",
            image=WHOAMI,
            labels={"app": name},
            ports=[{"name": "http", "containerPort": 8080}],
            readiness={"httpGet": {"path": "/bench", "port": 8080}, "periodSeconds": 1},
        )
        backend["spec"]["containers"][0]["command"] = ["/whoami", "--port=8080", f"--name={name}"]
        kube.create(backend)
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
            }
        )
        kube.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "ingressClassName": "nginx",
                    "rules": [
                        {
                            "host": host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": name, "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
            }
        )
        pods.ready(kube, name, namespace)

    def check(step: str) -> str:
        address = edge.load_balancer_address(kube, namespace, release)

        def routed() -> bool:
            try:
                return edge.request(address, host).status == 200
            except OSError:
                return False

        eventually(routed, timeout=edge.ROUTE_TIMEOUT, what=f"{host} via {release} after {step}")
        answers = burst(f"http://{address}/", REQUESTS, rate=50, headers={"Host": host})
        ours = answers.count(lambda r: r.code == 200 and r.line("Name") == name)
        assert ours == answers.sent, f"after {step}: {answers.failure_report()}"
        return f"requests sent={answers.sent} failed={answers.failed} to our backend={ours}"

    return Probe(write, check)


def _stack(kube: Kube, namespace: str, release: str, provider: str) -> Probe:
    """A row written through the stack's edge by the example API, read back the same way."""
    written: list[dict[str, Any]] = []

    def write() -> None:
        written.append(stack.reach(kube, namespace, release).write_item("kept-across-upgrades"))

    def check(step: str) -> str:
        api = stack.reach(kube, namespace, release)
        (row,) = written
        answers = burst(api.url(f"/items/{row['id']}"), REQUESTS, rate=50, headers=api.headers)
        found = answers.count(lambda r: r.code == 200 and json.loads(r.body) == row)
        assert found == answers.sent, f"after {step}: {answers.failure_report()}"
        return (
            f"rows written=1 found=1; requests sent={answers.sent} failed={answers.failed} "
            f"answered the row={found}"
        )

    return Probe(
        write,
        check,
        values_files=[stack.EXAMPLE_VALUES],
        values=stack.example_image_values(provider),
    )


PROBES: dict[str, Callable[[Kube, str, str, str], Probe]] = {
    "database": _database,
    "cache": _cache,
    "app": _app,
    "ingress": _ingress,
    "stack": _stack,
}


def test_every_installable_chart_has_a_data_probe() -> None:
    assert sorted(PROBES) == sorted(c.name for c in all_charts())


def figure(chart: str, helm: Helm, step: str, figures: str) -> None:
    print(f"FIGURE upgrade.{chart}[helm{helm.major}] {step}: {figures}")


@pytest.fixture
def running_containers(cluster: SessionCluster) -> Iterator[None]:
    if not cluster.runs_containers:
        pytest.skip("needs a node that runs containers: the data is read by real clients")
    yield


@pytest.mark.parametrize("chart", [chart_param(c.name, id=c.name) for c in all_charts()])
def test_upgrade_from_every_release_keeps_the_data_then_rollback(
    chart: str,
    running_containers: None,
    release_repo: Path,
    cluster: SessionCluster,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
) -> None:
    current = load_chart(chart).version
    releases = released_packages(release_repo, chart, current)
    assert releases, f"{chart} {current}: the release repository has no version to upgrade from"
    for n, (version, package) in enumerate(releases):
        name = f"{chart}-v{n}"  # contains the chart's name: its objects are called `name`
        probe = PROBES[chart](kube, namespace, name, cluster.provider)
        release: Release = deploy(
            chart,
            helm,
            release=name,
            chart_ref=package,
            values_files=probe.values_files,
            values=probe.values,
        )
        probe.write()
        figure(chart, helm, f"install {version}", probe.check(f"install of {version}"))

        deploy.upgrade(release, values_files=probe.values_files, values=probe.values)
        step = f"upgrade {version} -> working tree ({current})"
        figure(chart, helm, f"upgrade {version}->{current}", probe.check(step))
        tested = helm.test(name, namespace)
        assert tested.ok, (
            f"helm test after the upgrade from {version}:\n{tested.stdout}{tested.stderr}"
        )

        helm.rollback(name, namespace, 1).check()
        deploy.wait(release)
        figure(chart, helm, f"rollback ->{version}", probe.check(f"rollback to {version}"))
        helm.uninstall(name, namespace).check()
