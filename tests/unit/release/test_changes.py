"""Change detection against release tags or a base ref, with dependents following."""

from __future__ import annotations

import pytest

from charthouse.chartset import ChartSet
from charthouse.errors import CharthouseError
from charthouse.release import changes
from support.chartrepo import ChartRepo, git


def detect(repo: ChartRepo, **kwargs: object) -> dict[str, str]:
    found = changes.detect(repo.root, ChartSet.discover(repo.charts), **kwargs)  # type: ignore[arg-type]
    return {name: change.reason for name, change in found.items()}


def tag_all(repo: ChartRepo) -> None:
    for name in ("common", "app", "stack"):
        git(repo.root, "tag", f"{name}-0.1.0")


def test_untagged_charts_are_released(chart_repo: ChartRepo) -> None:
    assert detect(chart_repo) == {
        "app": "never released (no tag)",
        "common": "never released (no tag)",
        "stack": "never released (no tag)",
    }


def test_nothing_changed_since_the_tags_means_nothing_to_release(chart_repo: ChartRepo) -> None:
    tag_all(chart_repo)
    (chart_repo.root / "README.md").write_text("outside every chart\n")
    chart_repo.commit("docs: readme")
    assert detect(chart_repo) == {}


def test_a_changed_chart_takes_its_dependents_along(chart_repo: ChartRepo) -> None:
    tag_all(chart_repo)
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 2\n")
    chart_repo.commit("feat(app): two replicas")
    assert detect(chart_repo) == {
        "app": "changed since app-0.1.0",
        "stack": "depends on changed app",
    }


def test_a_changed_library_takes_every_chart_that_embeds_it(chart_repo: ChartRepo) -> None:
    tag_all(chart_repo)
    (chart_repo.charts / "common" / "values.yaml").write_text("x: 1\n")
    chart_repo.commit("fix(common): x")
    assert set(detect(chart_repo)) == {"common", "app", "stack"}


def test_uncommitted_and_untracked_files_count_as_changes(chart_repo: ChartRepo) -> None:
    tag_all(chart_repo)
    (chart_repo.charts / "stack" / "templates" / "new.yaml").write_text("# new\n")
    assert detect(chart_repo) == {"stack": "changed since stack-0.1.0"}


def test_the_newest_tag_wins_and_similar_chart_names_do_not_confuse(chart_repo: ChartRepo) -> None:
    tag_all(chart_repo)
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 3\n")
    chart_repo.commit("feat(app): three")
    git(chart_repo.root, "tag", "app-0.2.0")
    git(chart_repo.root, "tag", "app-extra-9.9.9")  # another chart's tag, not app's
    assert changes.released_versions(chart_repo.root, "app") == ["0.1.0", "0.2.0"]
    assert detect(chart_repo) == {}


def test_base_ref_compares_every_chart_with_that_commit(chart_repo: ChartRepo) -> None:
    base = git(chart_repo.root, "rev-parse", "HEAD").strip()
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 2\n")
    chart_repo.commit("feat(app): two")
    assert detect(chart_repo, base=base) == {
        "app": f"changed since {base}",
        "stack": "depends on changed app",
    }
    with pytest.raises(CharthouseError, match="--base: 'nope' is not a commit"):
        detect(chart_repo, base="nope")


def test_selecting_charts_limits_the_release_and_rejects_unknown_names(
    chart_repo: ChartRepo,
) -> None:
    assert set(detect(chart_repo, only=["app"])) == {"app"}
    with pytest.raises(CharthouseError, match=r"unknown chart.*nope"):
        detect(chart_repo, only=["nope"])
