"""A chart repository in a local directory: ``index.yaml`` beside the archives.

Archives and provenance files are copied in first and the index is replaced last,
atomically, so a release killed at any point leaves the previous index (and so the
repository users see) intact; an orphan archive from a killed run is rewritten by
the next run, byte for byte, because packaging is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from charthouse import atomicfile
from charthouse.release import archive, faults
from charthouse.release import index as idx
from charthouse.release.targets import Artifact


class DirTarget:
    kind = "dir"
    lists_versions = True

    def __init__(self, root: Path, *, base_url: str | None = None) -> None:
        self.root = root
        self.base_url = base_url
        self.label = f"{self.kind}:{root}"
        self.index_path = root / idx.INDEX_FILE
        self.index = idx.load(self.index_path)

    def published_versions(self, chart: str) -> list[str]:
        return self.index.versions(chart)

    def entries(self, artifacts: Sequence[Artifact]) -> list[idx.Entry]:
        return [
            archive.entry_for_archive(a.archive, base_url=self.base_url, created=a.created)
            for a in artifacts
        ]

    def preflight(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        return [
            artifact
            for artifact, entry in zip(artifacts, self.entries(artifacts), strict=True)
            if idx.check(self.index, entry, str(self.index_path))
        ]

    def publish(self, artifacts: Sequence[Artifact], site_files: Mapping[str, bytes]) -> None:
        with idx.locked(self.root):
            # Re-read under the lock: another writer may have published meanwhile.
            current = idx.load(self.index_path)
            todo = [
                (artifact, entry)
                for artifact, entry in zip(artifacts, self.entries(artifacts), strict=True)
                if idx.check(current, entry, str(self.index_path))
            ]
            for artifact, _entry in todo:
                faults.checkpoint(f"copy:{artifact.name}")
                atomicfile.copy(artifact.archive, self.root / artifact.archive.name)
                if artifact.provenance is not None:
                    atomicfile.copy(artifact.provenance, self.root / artifact.provenance.name)
            self._write_site_files(site_files)
            if not todo:
                return
            idx.merge(current, [entry for _a, entry in todo], str(self.index_path))
            data = idx.dumps(current)
            faults.checkpoint("index:before-write")
            atomicfile.write(self.index_path, data)
            faults.checkpoint("index:after-write")
            self.index = current

    def _write_site_files(self, site_files: Mapping[str, bytes]) -> None:
        for name, data in site_files.items():
            path = self.root / name
            if not path.is_file() or path.read_bytes() != data:
                atomicfile.write(path, data)

    def refresh_site_files(self, site_files: Mapping[str, bytes]) -> None:
        """Only in an existing repository: an empty directory stays empty."""
        if not self.index_path.is_file():
            return
        with idx.locked(self.root):
            self._write_site_files(site_files)

    def close(self) -> None:
        return None
