"""Fault injection for the crash-safety tests (a test hook, not a feature).

``CHARTHOUSE_FAULT=<step>`` makes the process die with ``os._exit(137)`` - no
cleanup, no ``finally`` blocks, like SIGKILL - when the release reaches ``<step>``
(``*`` matches every step; steps are printed with ``CHARTHOUSE_FAULT=list``).
Tests run a release in a subprocess once per step and check that the previous
index is intact each time.
"""

from __future__ import annotations

import os
import sys

FAULT_ENV = "CHARTHOUSE_FAULT"
KILLED_EXIT = 137


def checkpoint(step: str) -> None:
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    if wanted == "list":
        print(f"fault-step {step}", file=sys.stderr, flush=True)
        return
    if wanted == step or (wanted.endswith("*") and step.startswith(wanted[:-1])):
        print(f"fault injected at {step}", file=sys.stderr, flush=True)
        os._exit(KILLED_EXIT)
