"""Reading packaged charts (``<name>-<version>.tgz``): the Chart.yaml inside, and the
index entry helm would write for the archive.

Only the top-level ``<chart>/Chart.yaml`` is read. helm writes it as the first tar
member, so the fast path inflates just one header and its body; any other archive
is read with :mod:`tarfile`.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from pathlib import Path
from typing import Any

from charthouse import yamlfile
from charthouse.errors import CharthouseError
from charthouse.release.index import Entry


def _first_member_chart_yaml(data: bytes) -> bytes | None:
    """Chart.yaml when it is the archive's first member (always so for helm's archives):
    inflate just enough of the stream for one tar header and its body."""
    try:
        inflater = zlib.decompressobj(wbits=31)
        head = inflater.decompress(data, 4096)
        while len(head) < 512 and inflater.unconsumed_tail:
            head += inflater.decompress(inflater.unconsumed_tail, 4096)
        name = head[0:100].rstrip(b"\0").decode("utf-8")
        parts = name.split("/")
        if len(parts) != 2 or parts[1] != "Chart.yaml" or head[156:157] not in (b"0", b"\0"):
            return None
        size = int(head[124:136].rstrip(b"\0 ").decode() or "0", 8)
        while len(head) < 512 + size and inflater.unconsumed_tail:
            head += inflater.decompress(inflater.unconsumed_tail, 65536)
        if len(head) < 512 + size:
            return None
        return head[512 : 512 + size]
    except (zlib.error, ValueError, UnicodeDecodeError):
        return None


def _parse_chart_yaml(text: bytes, source: str) -> Any:
    return yamlfile.parse(text, f"{source}: Chart.yaml", loader=yamlfile.TimestampsAsTextLoader)


def chart_yaml(data: bytes, source: str) -> dict[str, Any]:
    """The top-level Chart.yaml inside a chart archive (``data``, named ``source``)."""
    quick = _first_member_chart_yaml(data)
    if quick is not None:
        meta = _parse_chart_yaml(quick, source)
        if isinstance(meta, dict):
            return meta
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    handle = tar.extractfile(member)
                    if handle is None:
                        break
                    meta = _parse_chart_yaml(handle.read(), source)
                    if not isinstance(meta, dict):
                        raise CharthouseError(f"{source}: Chart.yaml: expected a mapping")
                    return meta
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CharthouseError(f"{source}: not a readable chart archive: {exc}") from exc
    raise CharthouseError(f"{source}: no Chart.yaml at the top of the archive")


def entry_for_archive(path: Path, *, base_url: str | None, created: str) -> Entry:
    """The index entry helm would write for a packaged chart."""
    data = path.read_bytes()
    meta = chart_yaml(data, str(path))
    for key in ("name", "version"):
        if not isinstance(meta.get(key), str):
            raise CharthouseError(f"{path}: Chart.yaml: {key}: required string")
    url = f"{base_url.rstrip('/')}/{path.name}" if base_url else path.name
    return {
        **meta,
        "created": created,
        "digest": hashlib.sha256(data).hexdigest(),
        "urls": [url],
    }
