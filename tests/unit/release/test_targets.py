"""Publishing targets against real backends on this machine: a gh-pages branch of a
local bare git repository, and a real OCI registry (CNCF distribution) on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from charthouse.release.targets.dir import DirTarget
from charthouse.release.targets.oci import OciTarget
from charthouse.tools import ensure_tool
from support.chartrepo import ChartRepo, Runner, git, helm_env
from support.servers import free_port, serving


@pytest.fixture
def bare_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "pages.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    return remote


def pages_index(remote: Path, tmp_path: Path) -> tuple[dict[str, list[str]], list[str]]:
    clone = tmp_path / f"check-{time.monotonic_ns()}"
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", "gh-pages", str(remote), str(clone)], check=True
    )
    document = yaml.safe_load((clone / "index.yaml").read_text())
    versions = {n: [e["version"] for e in es] for n, es in document["entries"].items()}
    return versions, sorted(p.name for p in clone.iterdir() if p.name != ".git")


def test_gh_pages_target_commits_the_repository_to_the_branch(
    chart_repo: ChartRepo, run_release: Runner, bare_remote: Path, tmp_path: Path
) -> None:
    args = (
        "--target",
        "gh-pages",
        "--ghpages-remote",
        str(bare_remote),
        "--url",
        "https://charts.example.invalid",
    )
    result = run_release(*args)
    assert result.returncode == 0, result.stderr
    versions, files = pages_index(bare_remote, tmp_path)
    assert versions == {"app": ["0.1.0"], "common": ["0.1.0"], "stack": ["0.1.0"]}
    assert files == [
        "app-0.1.0.tgz",
        "artifacthub-repo.yml",
        "common-0.1.0.tgz",
        "index.yaml",
        "stack-0.1.0.tgz",
    ]
    head = git(bare_remote, "rev-parse", "gh-pages")
    # Re-run with the tags gone (a fresh CI clone): same digests, so no new commit.
    for tag in git(chart_repo.root, "tag").split():
        git(chart_repo.root, "tag", "-d", tag)
    again = run_release(*args)
    assert again.returncode == 0, again.stderr
    assert "already published (same digest)" in again.stdout
    assert git(bare_remote, "rev-parse", "gh-pages") == head


def test_gh_pages_keeps_entries_another_release_pushed_meanwhile(
    chart_repo: ChartRepo, run_release: Runner, bare_remote: Path, tmp_path: Path
) -> None:
    # Another publisher put "other" on the branch first; our release must merge, not overwrite.
    other = tmp_path / "other-release"
    other.mkdir()
    git(other, "init", "--quiet", "--initial-branch", "gh-pages")
    (other / "index.yaml").write_text(
        "apiVersion: v1\nentries:\n  other:\n  - apiVersion: v2\n"
        "    created: '2024-01-01T00:00:00Z'\n    digest: abc\n    name: other\n"
        "    urls: [other-1.0.0.tgz]\n    version: 1.0.0\n"
    )
    git(other, "add", "index.yaml")
    git(other, "-c", "user.name=x", "-c", "user.email=x@example.invalid", "commit", "-qm", "other")
    git(other, "push", "--quiet", str(bare_remote), "gh-pages")
    result = run_release("--target", "gh-pages", "--ghpages-remote", str(bare_remote))
    assert result.returncode == 0, result.stderr
    versions, _ = pages_index(bare_remote, tmp_path)
    assert versions["other"] == ["1.0.0"] and versions["app"] == ["0.1.0"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OCI registry (distribution v3, pinned in ci/tools.yaml) on 127.0.0.1."""
    binary = ensure_tool("registry")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with serving([binary, "serve", config], f"http://127.0.0.1:{port}/v2/"):
        yield f"127.0.0.1:{port}"


def test_oci_target_pushes_charts_that_helm_3_and_4_can_pull(
    chart_repo: ChartRepo, run_release: Runner, registry: str, helm: Path, tmp_path: Path
) -> None:
    url = f"oci://{registry}/charts-{helm.parent.name.split('-')[0]}"
    result = run_release("--target", "oci", "--oci-url", url, "--no-tag")
    assert result.returncode == 0, result.stderr
    pulled = tmp_path / "pulled"
    pulled.mkdir()
    pull = subprocess.run(
        [
            str(helm),
            "pull",
            f"{url}/stack",
            "--version",
            "0.1.0",
            "--plain-http",
            "--destination",
            str(pulled),
        ],
        capture_output=True,
        text=True,
        env=helm_env(tmp_path / "h"),
        check=False,
    )
    assert pull.returncode == 0, pull.stderr
    shown = subprocess.run(
        [str(helm), "show", "chart", str(pulled / "stack-0.1.0.tgz")],
        check=True,
        capture_output=True,
        text=True,
        env=helm_env(tmp_path / "h"),
    ).stdout
    assert "name: stack" in shown
    # A re-run finds every version already there with the same digest and pushes nothing.
    again = run_release("--target", "oci", "--oci-url", url, "--no-tag")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already published (same digest)") == 3


def test_oci_target_refuses_to_overwrite_a_version_with_other_content(
    chart_repo: ChartRepo, run_release: Runner, registry: str
) -> None:
    url = f"oci://{registry}/immutable"
    assert run_release("--target", "oci", "--oci-url", url, "--no-tag", "common").returncode == 0
    (chart_repo.charts / "common" / "values.yaml").write_text("changed: true\n")
    result = run_release("--target", "oci", "--oci-url", url, "--no-tag", "common")
    assert result.returncode == 2
    assert "already published with digest" in result.stderr


def test_only_an_existing_dir_repository_refreshes_site_files_on_its_own(tmp_path: Path) -> None:
    site = {"artifacthub-repo.yml": b"owners: []\n"}
    empty = DirTarget(tmp_path / "empty")
    empty.refresh_site_files(site)
    assert not (tmp_path / "empty").exists()  # no repository yet: nothing is written
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "index.yaml").write_text("apiVersion: v1\nentries: {}\n")
    DirTarget(repo).refresh_site_files(site)
    assert (repo / "artifacthub-repo.yml").read_bytes() == site["artifacthub-repo.yml"]
    assert DirTarget.lists_versions and not OciTarget.lists_versions
