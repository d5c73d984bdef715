"""Running a judge's binary: captured output, a timeout, and no network.

Every judge works offline. To make sure none of them (checkov in particular, which
can fetch guidelines) ever sends a request off the machine, each runs with every
proxy variable pointing at a closed port on 127.0.0.1: a request fails at once,
on the loopback interface.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from charthouse.proc import run

NO_NETWORK = {
    var: "http://127.0.0.1:9"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
} | {"NO_PROXY": "", "no_proxy": ""}


def run_tool(
    cmd: Sequence[str | Path], *, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a judge; its exit status is the caller's to interpret (findings exit 1)."""
    return run(cmd, cwd=cwd, env=NO_NETWORK, timeout=timeout, check=False)
