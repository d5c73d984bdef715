"""The lease on a rollout: which command drives it, and how the others tell it still does.

The lease is two fields of the rollout record (:mod:`charthouse.rollout.state`): the
holder (host, process, nonce) and the wall-clock time of its last renewal. The holder
renews it with every write of the record, and at least every :data:`RENEW_EVERY`
seconds while it waits: each poll of a wait loop checks, and while a blocking call runs
(helm) a helper thread does (``Store.renewing``). A lease not renewed for
:data:`LEASE_SECONDS` has expired; one whose holder was a process of this host that
no longer runs is gone at once.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Literal

LEASE_SECONDS = 30.0
RENEW_EVERY = LEASE_SECONDS / 3

State = Literal["free", "gone", "expired", "held"]


def holder_id() -> str:
    """Who holds a lease: this host and process, plus a nonce against pid reuse."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def holder_gone(holder: str) -> bool:
    """True when ``holder`` names a process of this host that no longer runs."""
    host, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def state(holder: str, renewed: float, now: float) -> State:
    """ "held" (a command drives it), "expired", "gone" (its holder died) or "free"."""
    if not holder:
        return "free"
    if holder_gone(holder):
        return "gone"
    if now - renewed >= LEASE_SECONDS:
        return "expired"
    return "held"


def seconds_left(renewed: float, now: float) -> float:
    """How long a lease renewed at ``renewed`` stays held without another renewal."""
    return max(0.0, LEASE_SECONDS - (now - renewed))


def renewal_due(renewed: float, now: float) -> bool:
    return now - renewed >= RENEW_EVERY
