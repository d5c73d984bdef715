"""``charthouse release``: version, package, sign, index and publish changed charts."""

from __future__ import annotations

import argparse
from pathlib import Path

from charthouse import paths
from charthouse.commands import options
from charthouse.release.targets import KINDS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Release every chart changed since its last `<chart>-<version>` tag (and the "
        "charts that embed it), or only CHART.... Re-running is a no-op."
    )
    parser.add_argument("charts", nargs="*", metavar="CHART", help="only these charts")
    parser.add_argument(
        "--dev", action="store_true", help="chartpress-style dev versions X.Y.Z-0.dev.git.N.hSHA"
    )
    parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        choices=KINDS,
        help="where to publish (repeatable; default: dir)",
    )
    parser.add_argument("--url", help="base URL written into index.yaml entries")
    parser.add_argument("--sign", metavar="KEY", help="sign with this GnuPG key (writes .prov)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    parser.add_argument(
        "--base", metavar="REF", help="release charts changed since REF instead of since their tags"
    )
    parser.add_argument(
        "--repo-dir",
        type=options.resolved_path,
        default=paths.REPO_DIR,
        help="directory of the dir target (default: dist/repo)",
    )
    parser.add_argument(
        "--charts-dir", type=options.resolved_path, default=paths.CHARTS_DIR, help=argparse.SUPPRESS
    )
    parser.add_argument("--oci-url", help="oci://HOST/PATH for --target oci")
    parser.add_argument(
        "--ghpages-remote", default="origin", help="git remote (name or URL) of the gh-pages target"
    )
    parser.add_argument(
        "--ghpages-branch", default="gh-pages", help="branch of the gh-pages target"
    )
    parser.add_argument(
        "--no-tag",
        dest="tag",
        action="store_false",
        help="do not create <chart>-<version> git tags",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from charthouse.release.pipeline import Options, release

    charts_dir: Path = args.charts_dir
    opts = Options(
        repo_root=charts_dir.parent,
        charts_dir=charts_dir,
        repo_dir=args.repo_dir,
        charts=tuple(args.charts),
        dev=args.dev,
        targets=tuple(args.targets or ("dir",)),
        url=args.url,
        sign_key=args.sign,
        dry_run=args.dry_run,
        base=args.base,
        tag=args.tag,
        oci_url=args.oci_url,
        ghpages_remote=args.ghpages_remote,
        ghpages_branch=args.ghpages_branch,
    )
    return release(opts)
