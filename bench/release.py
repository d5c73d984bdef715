"""Release index benchmark: charthouse's index code against ``helm repo index``, same run.

(1) Build index.yaml for 1,000 and 10,000 chart archives from scratch, with our code
    (read each archive's Chart.yaml, sha256, merge, deterministic dump, atomic write)
    and with ``helm repo index`` (helm 4) over the very same files. Ratio ours/helm,
    goal <= 1.0.
(2) Add one version to a 10,000-entry index (load, check, merge, dump, atomic write),
    as every release does. Goal <= 0.5 s.

The archives are generated here (small valid charts, many versions of 20 names):
packaging 10,000 charts with helm would take minutes and measure helm, not indexing.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from charthouse import atomicfile
from charthouse.release import archive
from charthouse.release import index as idx
from charthouse.release.package import normalize_archive
from charthouse.tools import ensure_tool

NAMES = 20
CREATED = "2026-01-01T00:00:00Z"


def make_archive(directory: Path, number: int) -> Path:
    name = f"chart{number % NAMES:02d}"
    version = f"1.{number // NAMES}.0"
    files = {
        f"{name}/Chart.yaml": (
            f"apiVersion: v2\nname: {name}\nversion: {version}\n"
            f"appVersion: '2.{number}'\ndescription: benchmark chart\n"
            "annotations:\n  artifacthub.io/license: Apache-2.0\n"
        ),
        f"{name}/values.yaml": "replicas: 1\nimage:\n  tag: '1.0'\n",
        f"{name}/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = directory / f"{name}-{version}.tgz"
    path.write_bytes(normalize_archive(buffer.getvalue()))
    return path


def ours(directory: Path) -> float:
    started = time.perf_counter()
    index = idx.Index()
    entries = [
        archive.entry_for_archive(p, base_url=None, created=CREATED)
        for p in sorted(directory.glob("*.tgz"))
    ]
    idx.merge(index, entries)
    atomicfile.write(directory / "index.yaml", idx.dumps(index))
    return time.perf_counter() - started


def helm_repo_index(helm: Path, directory: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(helm), "repo", "index", str(directory)], check=True, capture_output=True)
    return time.perf_counter() - started


def best(fn: object, repeats: int) -> float:
    return min(fn() for _ in range(repeats))  # type: ignore[operator]


def main() -> None:
    helm = ensure_tool("helm4")
    with tempfile.TemporaryDirectory(prefix="charthouse-bench-") as tmp:
        root = Path(tmp)
        for count in (1_000, 10_000):
            directory = root / str(count)
            directory.mkdir()
            for number in range(count):
                make_archive(directory, number)
            repeats = 3 if count <= 1_000 else 2
            theirs = best(lambda d=directory: helm_repo_index(helm, d), repeats)
            mine = best(lambda d=directory: ours(d), repeats)
            listed = len(idx.load(directory / "index.yaml"))
            assert listed == count, f"our index lists {listed} of {count} versions"
            print(
                f"index {count:>6} versions: charthouse {mine:6.2f} s, helm repo index "
                f"{theirs:6.2f} s, ratio {mine / theirs:4.2f} (goal <= 1.0)",
                flush=True,
            )

        big = root / "10000"
        extra_dir = root / "extra"
        extra_dir.mkdir()
        extra = make_archive(extra_dir, 10_000 * NAMES + 1)
        shutil.copy(big / "index.yaml", root / "pristine.yaml")

        def add_one() -> float:
            shutil.copy(root / "pristine.yaml", big / "index.yaml")
            started = time.perf_counter()
            index = idx.load(big / "index.yaml")
            entry = archive.entry_for_archive(extra, base_url=None, created=CREATED)
            idx.merge(index, [entry])
            atomicfile.write(big / "index.yaml", idx.dumps(index))
            return time.perf_counter() - started

        seconds = best(add_one, 3)
        print(
            f"add 1 version to a 10,000-entry index: {seconds:5.2f} s (goal <= 0.5 s)", flush=True
        )


if __name__ == "__main__":
    main()
