"""Version rules: strict SemVer ordering and chartpress-style dev versions."""

from __future__ import annotations

import chartpress
import pytest
from hypothesis import given
from hypothesis import strategies as st

from charthouse.versioning import (
    dev_base,
    dev_version,
    is_greater,
    latest,
    parse_version,
    sort_descending,
)


@pytest.mark.parametrize("bad", ["v1.2.3", "1.2", "1.2.3.4", "01.2.3", "latest", ""])
def test_non_semver_versions_are_rejected_with_the_value_named(bad: str) -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        parse_version(bad)


def test_prereleases_sort_below_their_release_and_dev_below_alpha() -> None:
    ordered = [
        "1.0.0",
        "1.0.0-alpha.1",
        "1.0.0-0.dev.git.12.habc",
        "1.0.0-0.dev.git.3.hfff",
        "0.9.9",
    ]
    assert sort_descending(reversed(ordered)) == ordered
    assert latest(ordered) == "1.0.0"
    assert latest(["0.1.0", "garbage"]) == "0.1.0"
    assert latest([]) is None


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}"
)
prereleases = st.sampled_from(["", "-alpha.1", "-beta.2", "-rc.1", "-0.dev"])
shas = st.text("0123456789abcdef", min_size=7, max_size=7)


@given(base=versions, pre=prereleases, n=st.integers(0, 10_000), sha=shas)
def test_dev_version_is_exactly_chartpress_rule(base: str, pre: str, n: int, sha: str) -> None:
    # chartpress is the reference; we re-implement its rule to avoid a runtime dependency.
    expected = chartpress._get_identifier_from_parts(base + pre, n, sha, long=True)
    assert dev_version(base + pre, n, sha) == expected
    parse_version(expected)  # and helm/SemVer accept it


def test_dev_versions_order_by_commit_count_and_precede_the_release() -> None:
    a = dev_version("1.2.4", 3, "0abcdef")
    b = dev_version("1.2.4", 12, "0123456")
    assert a == "1.2.4-0.dev.git.3.h0abcdef"
    assert is_greater(b, a)  # numeric, not lexical: 12 > 3
    assert is_greater("1.2.4", b)
    assert is_greater(b, "1.2.3")


@pytest.mark.parametrize(
    ("chart", "published", "expected"),
    [
        ("1.2.3", None, "1.2.3"),  # nothing published: pre-release of the chart's version
        ("1.3.0", "1.2.3", "1.3.0"),  # chart already bumped ahead of what is published
        ("1.2.3", "1.2.3", "1.2.4"),  # not bumped: pre-release of the next patch
        ("1.2.3", "1.2.4-0.dev.git.5.habcdef0", "1.2.4"),  # keep building towards 1.2.4
    ],
)
def test_dev_base_always_sorts_above_what_is_published(
    chart: str, published: str | None, expected: str
) -> None:
    base = dev_base(chart, published)
    assert base == expected
    if published is not None:
        assert is_greater(dev_version(base, 99, "fffffff"), published)
