"""`charthouse release` end to end on a throwaway repo: plan, idempotency, bad input,
version rules, dev versions and crash safety (fault injection in a subprocess)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from charthouse.release.faults import FAULT_ENV, KILLED_EXIT
from support.chartrepo import ChartRepo, GpgKey, Runner, bump, git, release_in


def listed(repo: ChartRepo) -> dict[str, list[str]]:
    document = yaml.safe_load((repo.repo_dir / "index.yaml").read_text())
    return {name: [e["version"] for e in entries] for name, entries in document["entries"].items()}


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("charthouse: ")
    for fragment in fragments:
        assert fragment in last


def test_first_release_publishes_every_chart_and_tags_it(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    result = run_release()
    assert result.returncode == 0, result.stderr
    assert listed(chart_repo) == {"app": ["0.1.0"], "common": ["0.1.0"], "stack": ["0.1.0"]}
    assert "[3/3] stack 0.1.0: packaged sha256:" in result.stdout
    assert set(git(chart_repo.root, "tag").split()) == {"app-0.1.0", "common-0.1.0", "stack-0.1.0"}
    assert (chart_repo.repo_dir / "artifacthub-repo.yml").is_file()
    document = yaml.safe_load((chart_repo.repo_dir / "index.yaml").read_text())
    changes = document["entries"]["app"][0]["annotations"]["artifacthub.io/changes"]
    assert yaml.safe_load(changes) == [{"kind": "added", "description": "initial charts"}]


def test_a_second_release_changes_no_byte(chart_repo: ChartRepo, run_release: Runner) -> None:
    assert run_release().returncode == 0
    before = chart_repo.snapshot()
    again = run_release()
    assert again.returncode == 0, again.stderr
    assert "nothing to release" in again.stdout
    assert chart_repo.snapshot() == before


def test_site_files_follow_the_repo_when_no_chart_changed(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    assert run_release().returncode == 0
    own = "owners:\n- name: Platform\n  email: platform@example.invalid\n"
    (chart_repo.root / "artifacthub-repo.yml").write_text(own)
    chart_repo.commit("chore: another owner")
    again = run_release()
    assert "nothing to release" in again.stdout, again.stderr
    assert (chart_repo.repo_dir / "artifacthub-repo.yml").read_text() == own


def test_a_wiped_repository_is_rebuilt_to_the_same_bytes(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    assert run_release().returncode == 0
    before = chart_repo.snapshot()
    shutil.rmtree(chart_repo.repo_dir)
    result = run_release()
    assert result.returncode == 0, result.stderr
    assert "not yet in dir:" in result.stdout
    assert chart_repo.snapshot() == before


def test_dry_run_prints_the_plan_and_writes_nothing(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    result = run_release("--dry-run")
    assert result.returncode == 0, result.stderr
    assert "app 0.1.0  (never released (no tag))" in result.stdout
    assert not chart_repo.repo_dir.exists()
    assert git(chart_repo.root, "tag") == ""


def test_a_change_without_a_version_bump_is_refused(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    assert run_release().returncode == 0
    before = chart_repo.snapshot()
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 2\n")
    chart_repo.commit("feat(app): two replicas")
    result = run_release()
    assert_clean_failure(result, "app/Chart.yaml: version:", "bump the chart version")
    assert chart_repo.snapshot() == before


def test_a_bumped_chart_and_its_dependents_are_released_with_their_changes(
    chart_repo: ChartRepo, run_release: Runner, helm4: Path
) -> None:
    assert run_release().returncode == 0
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 2\n")
    bump(chart_repo, helm4, {"app": "0.2.0", "stack": "0.2.0"})
    chart_repo.commit("fix(app): two replicas")
    before = yaml.safe_load((chart_repo.repo_dir / "index.yaml").read_text())
    result = run_release()
    assert result.returncode == 0, result.stderr
    assert listed(chart_repo)["app"] == ["0.2.0", "0.1.0"]
    assert listed(chart_repo)["stack"] == ["0.2.0", "0.1.0"]
    after = yaml.safe_load((chart_repo.repo_dir / "index.yaml").read_text())
    assert after["entries"]["app"][1] == before["entries"]["app"][0]  # old entry untouched
    changes = yaml.safe_load(after["entries"]["app"][0]["annotations"]["artifacthub.io/changes"])
    assert changes == [{"kind": "fixed", "description": "two replicas"}]


def test_a_version_below_the_published_one_is_refused(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    assert run_release().returncode == 0
    chart = chart_repo.charts / "common" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 0.1.0", "version: 0.0.9", 1))
    chart_repo.commit("oops")
    result = run_release("common")
    assert_clean_failure(result, "0.0.9 must be greater than the latest released 0.1.0")


def test_dev_versions_follow_the_chartpress_rule(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    assert run_release().returncode == 0
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 2\n")
    chart_repo.commit("feat(app): dev build")
    sha = git(chart_repo.root, "rev-parse", "--short=7", "HEAD").strip()
    result = run_release("--dev")
    assert result.returncode == 0, result.stderr
    dev = f"0.1.1-0.dev.git.2.h{sha}"
    assert listed(chart_repo)["app"] == [dev, "0.1.0"]
    assert listed(chart_repo)["stack"] == [dev, "0.1.0"]
    assert f"app-{dev}" not in git(chart_repo.root, "tag")  # dev builds are not tagged
    before = chart_repo.snapshot()
    assert run_release("--dev").returncode == 0  # same commit, same dev version: a no-op
    assert chart_repo.snapshot() == before


@pytest.mark.parametrize(
    ("breakage", "fragments"),
    [
        (
            ("app/Chart.yaml", "apiVersion: v2\nname: app\nversion: [\n"),
            ("app/Chart.yaml: invalid YAML (line",),
        ),
        (
            ("app/Chart.yaml", "apiVersion: v2\nname: app\nversion: '1.0'\n"),
            ("app/Chart.yaml: version: '1.0' is not a semantic version",),
        ),
        (
            (
                "stack/Chart.yaml",
                "apiVersion: v2\nname: stack\nversion: 0.1.0\ndependencies:\n"
                "- name: gone\n  version: 0.1.0\n  repository: file://../gone\n",
            ),
            ("stack/Chart.yaml: dependencies[0].repository: no chart at file://../gone",),
        ),
    ],
)
def test_a_broken_chart_stops_the_release_before_anything_is_written(
    chart_repo: ChartRepo,
    run_release: Runner,
    breakage: tuple[str, str],
    fragments: tuple[str, ...],
) -> None:
    assert run_release().returncode == 0
    before = chart_repo.snapshot()
    tags = git(chart_repo.root, "tag")
    (chart_repo.charts / breakage[0]).write_text(breakage[1])
    result = run_release()
    assert_clean_failure(result, *fragments)
    assert chart_repo.snapshot() == before
    assert git(chart_repo.root, "tag") == tags


def test_an_unreadable_index_stops_the_release_before_anything_is_written(
    chart_repo: ChartRepo, run_release: Runner
) -> None:
    chart_repo.repo_dir.mkdir(parents=True)
    (chart_repo.repo_dir / "index.yaml").write_text("apiVersion: v1\nentries:\n  app: 3\n")
    before = chart_repo.snapshot()
    result = run_release()
    assert_clean_failure(result, "index.yaml: entries.app: expected a list of versions")
    assert chart_repo.snapshot() == before
    assert git(chart_repo.root, "tag") == ""


def published(repo_dir: Path) -> dict[str, bytes]:
    """Every published file; for a .prov only its signed text (a signature has a timestamp)."""
    files = {}
    for path in sorted(repo_dir.iterdir()):
        data = path.read_bytes()
        if path.suffix == ".prov":
            data = data.split(b"-----BEGIN PGP SIGNATURE-----")[0]
        files[path.name] = data
    return files


def _release_in(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return release_in(root, "--sign", "release-test@example.invalid", env=env)


def test_a_release_killed_at_any_step_leaves_the_previous_index_intact(
    chart_repo: ChartRepo, gpg_key: GpgKey, tmp_path: Path, helm4: Path
) -> None:
    gpg = {"GNUPGHOME": str(gpg_key.home)}
    assert _release_in(chart_repo.root, gpg).returncode == 0
    bump(chart_repo, helm4, {"app": "0.2.0", "stack": "0.2.0"})  # something to release
    chart_repo.commit("feat: 0.2.0")
    old_index = (chart_repo.repo_dir / "index.yaml").read_bytes()

    probe = tmp_path / "probe"
    shutil.copytree(chart_repo.root, probe)
    listing = _release_in(probe, {**gpg, FAULT_ENV: "list"})
    assert listing.returncode == 0, listing.stderr
    steps = [
        line.split(" ", 1)[1]
        for line in listing.stderr.splitlines()
        if line.startswith("fault-step ")
    ]
    assert {"package", "sign:app", "copy:stack", "index:before-write"} <= set(steps)
    expected = published(probe / "dist" / "repo")

    for step in steps:
        work = tmp_path / step.replace(":", "_")
        shutil.copytree(chart_repo.root, work)
        killed = _release_in(work, {**gpg, FAULT_ENV: step})
        assert killed.returncode == KILLED_EXIT, (step, killed.stderr)
        index_now = (work / "dist" / "repo" / "index.yaml").read_bytes()
        if step == "index:after-write":
            assert index_now == expected["index.yaml"]
        else:
            assert index_now == old_index, f"index changed by a release killed at {step}"
        recovered = _release_in(work, gpg)  # a plain re-run completes the release
        assert recovered.returncode == 0, (step, recovered.stderr)
        files = published(work / "dist" / "repo")
        assert files == expected, f"re-run after a kill at {step} differs from a clean release"
