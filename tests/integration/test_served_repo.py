"""The path users take, end to end: `make release` output served by `charthouse
serve`, then `helm repo add` + `helm install` into the integration cluster, with
helm 3 and helm 4. Nothing here reads the charts from the working tree."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from charthouse.charts import load_chart
from support import fresh_clone
from support.servers import free_port, serving

from .harness import Deployer, Release
from .helm import Helm

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh clone released into its own dist/repo and served on a free port."""
    clone = fresh_clone.clone(tmp_path_factory.mktemp("served") / "clone")
    released = fresh_clone.charthouse(clone, "release")
    assert released.returncode == 0, released.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv: list[str | Path] = [sys.executable, "-m", "charthouse", "serve", clone / "dist" / "repo"]
    argv += ["--port", str(port), "--bind", "127.0.0.1"]
    with serving(argv, f"{url}/index.yaml", env=fresh_clone.env(clone), cwd=clone):
        yield url


def test_helm_installs_app_from_the_served_repo(
    served_repo: str, helm: Helm, namespace: str, deploy: Deployer, tmp_path: Path
) -> None:
    repo_flags = [
        "--repository-config",
        str(tmp_path / "repositories.yaml"),
        "--repository-cache",
        str(tmp_path / "cache"),
    ]
    helm.run("repo", "add", "charthouse", served_repo, *repo_flags).check()
    listed = helm.run("search", "repo", "charthouse/", "--output", "yaml", *repo_flags).check()
    names = {entry["name"] for entry in yaml.safe_load(listed.stdout)}
    assert {
        "charthouse/app",
        "charthouse/database",
        "charthouse/ingress",
        "charthouse/stack",
    } <= names

    installed = helm.run(
        "install",
        "web",
        "charthouse/app",
        "--namespace",
        namespace,
        "--wait",
        "--timeout",
        "180s",
        *repo_flags,
    ).check()
    release = Release("web", namespace, "app", helm, installed)
    deploy.diagnostics.releases.append(release)
    deploy.wait(release)
    assert helm.test("web", namespace).ok
    status = yaml.safe_load(
        helm.run("list", "--namespace", namespace, "--output", "yaml").check().stdout
    )
    assert [entry["chart"] for entry in status] == [f"app-{load_chart('app').version}"]
