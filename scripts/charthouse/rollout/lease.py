"""The lease on a rollout: which command drives it, and how the others tell it still does.

The lease is two fields of the rollout record (:mod:`charthouse.rollout.state`): the
holder (host, process, nonce) and the wall-clock time of its last renewal. The holder
renews it with every write of the record, and at least every :data:`RENEW_EVERY`
seconds while it waits: each poll of a wait loop checks, and while a blocking call runs
(helm) a helper thread does (``Store.renewing``). A lease not renewed for
:data:`LEASE_SECONDS` has expired; one whose holder was a process of this host that
no longer runs is gone at once.

A command waiting for the holder (``charthouse rollout abort``) also judges by its own
clock, as Kubernetes' leader election does: the holder has stopped only once the lease
stayed unchanged for a whole lease duration since this command first saw it
(:class:`Observer`). A holder that keeps renewing is never taken over, whatever the
clocks of the two machines say.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class Observer:
    """A waiting command's view of another command's lease: renewals seen by its own
    monotonic clock, expiry by the record's timestamp (wall clocks of two machines may
    disagree; both must say the holder stopped)."""

    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _seen: tuple[str, float] | None = field(default=None, init=False)
    _since: float = field(default=0.0, init=False)

    def stopped(self, holder: str, renewed: float) -> bool:
        """True when the lease is free or its holder gone, or when it has expired and not
        changed (holder, renewal time) for :data:`LEASE_SECONDS` since first seen."""
        found = state(holder, renewed, self.wall())
        if found in ("free", "gone"):
            return True
        now = self.clock()
        if self._seen != (holder, renewed):
            self._seen, self._since = (holder, renewed), now
            return False
        return found == "expired" and now - self._since >= LEASE_SECONDS
