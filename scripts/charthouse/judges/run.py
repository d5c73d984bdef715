"""Run the judges over one set of inputs: in parallel (they are independent
subprocesses), each result cached by the digest of what that judge reads, its
binary and its adapter module, so a warm ``make lint`` re-runs only the judges
whose inputs changed."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from charthouse import paths, tools
from charthouse.atomicfile import write
from charthouse.judges import actionlint, artifacthub, checkov, kubeconform, kubescore, pluto
from charthouse.judges.model import Finding, Inputs

JUDGES: tuple[ModuleType, ...] = (kubeconform, kubescore, checkov, pluto, artifacthub, actionlint)


def names(judges: Sequence[ModuleType] = JUDGES) -> list[str]:
    return [str(j.NAME) for j in judges]


def tool_names(judges: Sequence[ModuleType] = JUDGES) -> list[str]:
    return [str(j.TOOL) for j in judges]


@dataclass
class JudgeRun:
    name: str
    findings: list[Finding]
    seconds: float
    cached: bool


def _key(judge: ModuleType, binary: Path, inputs: Inputs) -> str:
    resolved = binary.resolve()
    stat = resolved.stat()
    adapter = Path(str(judge.__file__)).read_bytes()
    material = [
        judge.NAME,
        str(resolved),
        stat.st_size,
        stat.st_mtime_ns,
        hashlib.sha256(adapter).hexdigest(),
        inputs.digest(judge.SCOPE),
    ]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:32]


def _run_one(judge: ModuleType, inputs: Inputs, use_cache: bool) -> JudgeRun:
    started = time.perf_counter()
    binary = tools.ensure_tool(judge.TOOL)
    cache_file = paths.CACHE_HOME / "judges" / f"{judge.TOOL}-{_key(judge, binary, inputs)}.json"
    if use_cache and cache_file.is_file():
        data = json.loads(cache_file.read_text())
        found = [Finding.from_json(f) for f in data]
        return JudgeRun(judge.NAME, found, time.perf_counter() - started, cached=True)
    found = list(judge.run(binary, inputs))
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    write(cache_file, json.dumps([f.as_json() for f in found]), fsync=False)
    return JudgeRun(judge.NAME, found, time.perf_counter() - started, cached=False)


def run_all(
    inputs: Inputs, judges: Sequence[ModuleType] = JUDGES, *, use_cache: bool = True
) -> list[JudgeRun]:
    """Every judge's findings, in the order of ``judges``."""
    with ThreadPoolExecutor(max_workers=max(1, len(judges))) as pool:
        futures = [pool.submit(_run_one, j, inputs, use_cache) for j in judges]
        return [f.result() for f in futures]
