"""Plan a release, then execute it: package -> sign -> check every target -> publish -> tag.

Everything that can fail on bad input (Chart.yaml, versions, an unreadable index, a
conflicting digest) fails before the first byte reaches a target. Publishing writes
each target's index last and atomically, so a release killed at any point leaves
the previous index intact (see :mod:`charthouse.release.faults` and its tests).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from charthouse import hostpkgs
from charthouse.chartset import ChartSet
from charthouse.errors import CharthouseError
from charthouse.release import changes, faults, git, metadata, package, sign
from charthouse.release.index import format_time
from charthouse.release.targets import KINDS, Artifact, Target
from charthouse.versioning import dev_base, dev_version, is_greater, latest


@dataclass
class Options:
    repo_root: Path
    charts_dir: Path
    repo_dir: Path
    charts: Sequence[str] = ()
    dev: bool = False
    targets: Sequence[str] = ("dir",)
    url: str | None = None
    sign_key: str | None = None
    dry_run: bool = False
    base: str | None = None
    tag: bool = True
    oci_url: str | None = None
    ghpages_remote: str = "origin"
    ghpages_branch: str = "gh-pages"
    helm: Callable[[], Path] | None = None


@dataclass(frozen=True)
class Step:
    name: str
    version: str
    reason: str
    since_tag: str | None
    created: str


@dataclass
class Plan:
    steps: list[Step]
    charts: ChartSet
    targets: list[Target] = field(default_factory=list)

    def describe(self) -> str:
        if not self.steps:
            return "nothing to release: no chart changed since its last release"
        where = ", ".join(t.label for t in self.targets)
        lines = [f"release plan ({len(self.steps)} chart(s)) -> {where}"]
        lines += [f"  {s.name} {s.version}  ({s.reason})" for s in self.steps]
        return "\n".join(lines)


def _make_targets(opts: Options) -> list[Target]:
    targets: list[Target] = []
    for kind in dict.fromkeys(opts.targets):
        if kind == "dir":
            from charthouse.release.targets.dir import DirTarget

            targets.append(DirTarget(opts.repo_dir, base_url=opts.url))
        elif kind == "gh-pages":
            from charthouse.release.targets.ghpages import GhPagesTarget

            targets.append(
                GhPagesTarget(
                    opts.repo_root, opts.ghpages_remote, opts.ghpages_branch, base_url=opts.url
                )
            )
        elif kind == "oci":
            from charthouse.release.targets.oci import OciTarget

            if not opts.oci_url:
                raise CharthouseError("--target oci needs --oci-url oci://HOST/PATH")
            targets.append(OciTarget(opts.oci_url, helm=_helm(opts)))
        else:
            known = ", ".join(KINDS)
            raise CharthouseError(f"--target: unknown {kind!r} (choose from {known})")
    return targets


def _helm(opts: Options) -> Path:
    if opts.helm is not None:
        return opts.helm()
    from charthouse.tools import ensure_tool

    return ensure_tool("helm4")


def plan(opts: Options) -> Plan:
    """Decide what to release; raises on any bad input, writes nothing."""
    charts = ChartSet.discover(opts.charts_dir)
    if not charts:
        raise CharthouseError(f"{opts.charts_dir}: no charts found")
    order = charts.order()
    targets = _make_targets(opts)
    try:
        detected = changes.detect(opts.repo_root, charts, base=opts.base, only=opts.charts)
        if not opts.dev:
            # A chart whose current version an index-based target lacks (a fresh dist/repo)
            # is released too, whatever the tags say.
            for name in opts.charts or charts:
                if name in detected:
                    continue
                for target in targets:
                    if not target.lists_versions:
                        continue
                    if charts[name].version not in target.published_versions(name):
                        detected[name] = changes.Change(
                            name, f"not yet in {target.label}", modified=False
                        )
                        break
        steps: list[Step] = []
        for name in order:
            if name not in detected:
                continue
            steps.append(_step(opts, charts, detected[name], targets))
    except BaseException:
        for target in targets:
            target.close()
        raise
    return Plan(steps=steps, charts=charts, targets=targets)


def _step(
    opts: Options,
    charts: ChartSet,
    change: changes.Change,
    targets: Sequence[Target],
) -> Step:
    name, reason = change.chart, change.reason
    meta = charts[name]
    tagged = changes.released_versions(opts.repo_root, name) if git.is_repo(opts.repo_root) else []
    published = [v for t in targets for v in t.published_versions(name)]
    top = latest([*published, *tagged])
    prov = changes.last_commit(
        opts.repo_root, [charts[n].path for n in sorted(charts.closure([name]))]
    )
    if opts.dev:
        if prov is None:
            raise CharthouseError(f"--dev: {meta.chart_file}: needs git history for a version")
        version = dev_version(dev_base(meta.version, top), prov.count, prov.sha)
    else:
        version = meta.version
    if version in tagged and change.modified and not opts.dev:
        raise CharthouseError(
            f"{meta.chart_file}: version: {name} {reason} but is still {version}; "
            "bump the chart version"
        )
    republish = version in published or (version in tagged and not change.modified)
    if not republish and top is not None and not is_greater(version, top):
        raise CharthouseError(
            f"{meta.chart_file}: version: {name} {version} must be greater than the latest "
            f"released {top} ({reason}); bump the chart version"
        )
    # The changelog spans from the release before this version, so re-publishing an
    # existing tag gives the same annotation and therefore the same archive.
    previous_tag = latest(v for v in tagged if v != version and not is_greater(v, version))
    created = format_time(prov.timestamp if prov else time.time())
    since = changes.release_tag(name, previous_tag) if previous_tag else None
    return Step(name=name, version=version, reason=reason, since_tag=since, created=created)


def execute(plan: Plan, opts: Options, out: TextIO = sys.stdout) -> int:
    """Build everything, check every target, then publish; returns charts published."""
    if not plan.steps:
        _publish_site_only(plan, opts)
        return 0
    helm = _helm(opts)
    total = len(plan.steps)
    wanted = {s.name: s.version for s in plan.steps}
    with tempfile.TemporaryDirectory(prefix="charthouse-release-") as tmp:
        work = Path(tmp)
        annotations = {
            s.name: metadata.changes_for(
                opts.repo_root, plan.charts[s.name], s.version, s.since_tag
            )
            for s in plan.steps
        }
        faults.checkpoint("package")
        packages = package.package_all(
            helm,
            plan.charts,
            wanted,
            opts.charts_dir,
            work / "workspace",
            work / "out",
            before_package=lambda name, chart_dir: metadata.apply_changes(
                chart_dir / "Chart.yaml", annotations[name]
            ),
        )
        artifacts: list[Artifact] = []
        for i, s in enumerate(plan.steps, 1):
            pkg = packages[s.name]
            prov = None
            if opts.sign_key:
                faults.checkpoint(f"sign:{s.name}")
                prov = sign.sign(pkg.path, opts.sign_key)
            artifacts.append(Artifact(s.name, pkg.version, pkg.path, pkg.digest, prov, s.created))
            signed = ", signed" if prov else ""
            print(
                f"[{i}/{total}] {s.name} {pkg.version}: packaged sha256:{pkg.digest[:12]}{signed}",
                file=out,
                flush=True,
            )
        todo = {t.label: t.preflight(artifacts) for t in plan.targets}  # refuse before writing
        site = {
            metadata.ARTIFACTHUB_REPO_FILE: metadata.artifacthub_repo(plan.charts, opts.repo_root)
        }
        for target in plan.targets:
            pending = todo[target.label]
            names = {a.name for a in pending}
            faults.checkpoint(f"publish:{target.kind}")
            target.publish(pending, site)
            for a in artifacts:
                state = "published" if a.name in names else "already published (same digest)"
                print(f"  {a.name} {a.version}: {state} -> {target.label}", file=out, flush=True)
        if opts.tag and not opts.dev:
            for s in plan.steps:
                done = metadata.tag_release(opts.repo_root, plan.charts[s.name], s.version)
                print(f"  {s.name}: {done}", file=out, flush=True)
    return total


def _publish_site_only(plan: Plan, opts: Options) -> None:
    """Keep artifacthub-repo.yml current even when no chart changed (a no-op when equal)."""
    site = {metadata.ARTIFACTHUB_REPO_FILE: metadata.artifacthub_repo(plan.charts, opts.repo_root)}
    for target in plan.targets:
        target.refresh_site_files(site)


def release(opts: Options, out: TextIO = sys.stdout) -> int:
    hostpkgs.ensure("release")  # git finds the changes, gpg signs: a fresh machine may lack them
    the_plan = plan(opts)
    try:
        print(the_plan.describe(), file=out, flush=True)
        if opts.dry_run:
            return 0
        execute(the_plan, opts, out)
    finally:
        for target in the_plan.targets:
            target.close()
    return 0
