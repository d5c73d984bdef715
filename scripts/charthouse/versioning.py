"""Semantic versions: parsing, ordering, and chartpress-style development versions.

Helm accepts loose versions ("v1.2", "1.2"); a chart repository that sorts and
compares versions needs strict SemVer 2, so that is what we require.

The development-version rule is chartpress's (``X.Y.Z-0.dev.git.N.hSHA``). We do not
import chartpress at run time: its function is private, untyped and pulls in docker
and ruamel. Instead :func:`dev_version` implements the same rule as a small pure
function, and a unit test checks it against chartpress itself for the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable

import semver

GIT_PREFIX = "git"
DEV_PRERELEASE = f"0.dev.{GIT_PREFIX}"


def parse_version(text: str) -> semver.Version:
    """Strict SemVer 2 (no ``v`` prefix, three numbers), with a readable error."""
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is not a semantic version (expected e.g. 1.2.3)") from exc


def is_greater(candidate: str, than: str) -> bool:
    return parse_version(candidate).compare(than) > 0


def latest(versions: Iterable[str]) -> str | None:
    """The highest of ``versions`` by SemVer precedence; unparsable ones are ignored."""
    best: semver.Version | None = None
    best_text: str | None = None
    for text in versions:
        try:
            parsed = parse_version(text)
        except ValueError:
            continue
        if best is None or parsed.compare(best) > 0:
            best, best_text = parsed, text
    return best_text


def sort_descending(versions: Iterable[str]) -> list[str]:
    """Highest first, as helm orders an index's entries; unparsable ones go last."""
    parsed: list[tuple[semver.Version, str]] = []
    loose: list[str] = []
    for text in versions:
        try:
            parsed.append((parse_version(text), text))
        except ValueError:
            loose.append(text)
    parsed.sort(key=lambda pair: pair[0], reverse=True)
    return [text for _, text in parsed] + sorted(loose)


def dev_version(base: str, n_commits: int, sha: str) -> str:
    """chartpress's rule: a pre-release of ``base`` that sorts by commit count.

    ``1.2.4`` becomes ``1.2.4-0.dev.git.N.hSHA`` (``0.dev`` sorts below ``alpha``);
    a base that is already a pre-release gets ``.git.N.hSHA`` appended. The ``h``
    keeps a hash starting with ``0`` from being read as a numeric identifier.
    """
    parse_version(base)
    suffix = f".{n_commits}.h{sha}"
    if "-" in base:
        return f"{base}.{GIT_PREFIX}{suffix}"
    return f"{base}-{DEV_PRERELEASE}{suffix}"


def dev_base(chart_version: str, published: str | None) -> str:
    """The version a dev build is a pre-release of.

    The chart's own version when it is ahead of everything published; otherwise the
    release after the latest published one, so the dev version still sorts higher.
    """
    if published is None or is_greater(chart_version, published):
        return chart_version
    top = parse_version(published)
    if top.prerelease:
        return str(top.finalize_version())
    return str(top.bump_patch())
