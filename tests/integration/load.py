"""HTTP load from this machine, with every response kept, for tests that count them.

`vegeta <https://github.com/tsenart/vegeta>`_ (pinned in ci/tools.yaml) sends the
requests at a constant rate and records each one: status, transport error, body
and timing. One connection per request by default, so every request is routed
afresh (a Service's kube-proxy rules, an ingress controller's endpoints): what a
rollout test needs to see each backend change. Traffic goes only where the
caller points it: tests point it at 127.0.0.0/8 or at a Service of the test cluster.

Usage::

    with Load(url) as load:          # steady load for as long as the block runs
        deploy.upgrade(release, ...)
    print(load.results.summary())    # sent=1234 failed=0 codes={200: 1234}

    answers = burst(url, 1000)       # exactly 1,000 requests, then return
    share = answers.count(lambda r: r.line("Name") == "v2") / answers.sent
    low, high = binomial_interval(1000, 0.1)
"""

from __future__ import annotations

import base64
import json
import math
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from charthouse.tools import ensure_tool


@dataclass(frozen=True)
class Response:
    """One request and what came back (``code`` 0 and ``error`` set when nothing did)."""

    seq: int
    started: datetime
    latency: float  # seconds
    code: int
    error: str
    body: bytes

    @property
    def ok(self) -> bool:
        return not self.error and 200 <= self.code < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def line(self, key: str) -> str | None:
        """The value of the first ``key: value`` line of the body (an echo server's
        ``Name: v2``, ``Hostname: pod-1``), or None."""
        prefix = f"{key}: "
        for line in self.text.splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None

    def describe(self) -> str:
        what = self.error or f"HTTP {self.code}"
        return f"#{self.seq} at {self.started.time().isoformat()}: {what}"


@dataclass(frozen=True)
class Results:
    """Every request of a load run, in the order they were sent."""

    responses: tuple[Response, ...]

    def __iter__(self) -> Iterator[Response]:
        return iter(self.responses)

    def __len__(self) -> int:
        return len(self.responses)

    @property
    def sent(self) -> int:
        return len(self.responses)

    @property
    def failures(self) -> list[Response]:
        return [r for r in self.responses if not r.ok]

    @property
    def failed(self) -> int:
        return len(self.failures)

    def first(self, count: int) -> Results:
        return Results(self.responses[:count])

    def count(self, matches: Callable[[Response], bool]) -> int:
        return sum(1 for r in self.responses if matches(r))

    def tally(self, key: Callable[[Response], object]) -> Counter[object]:
        return Counter(key(r) for r in self.responses)

    def summary(self) -> str:
        """``sent=N failed=M codes={...}`` and, when any, the distinct errors."""
        codes = dict(sorted(self.tally(lambda r: r.code).items(), key=lambda kv: str(kv[0])))
        text = f"sent={self.sent} failed={self.failed} codes={codes}"
        errors = Counter(r.error for r in self.failures)
        if errors:
            text += f" errors={dict(errors.most_common(5))}"
        return text

    def failure_report(self, limit: int = 10) -> str:
        shown = "\n  ".join(r.describe() for r in self.failures[:limit])
        more = self.failed - min(self.failed, limit)
        return f"{self.summary()}\n  {shown}" + (f"\n  ... and {more} more" if more else "")


class Load:
    """A background ``vegeta attack`` at ``rate`` requests per second until stopped.

    ``keepalive=False`` (default) opens a new connection per request; set it to test
    what clients with connection pools see. ``headers`` are sent with every request
    (``{"Host": "api.example.com"}`` sets the virtual host).
    """

    def __init__(
        self,
        url: str,
        *,
        rate: int = 40,
        headers: Mapping[str, str] | None = None,
        keepalive: bool = False,
        timeout: float = 5.0,
        max_body: int = 4096,
        duration: float = 0.0,
    ) -> None:
        self.url = url
        self.rate = rate
        self.headers = dict(headers or {})
        self.keepalive = keepalive
        self.timeout = timeout
        self.max_body = max_body
        self.duration = duration
        self._dir = Path(tempfile.mkdtemp(prefix="charthouse-load-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._results: Results | None = None

    def _argv(self) -> list[str]:
        targets = self._dir / "targets.json"
        target = {
            "method": "GET",
            "url": self.url,
            "header": {k: [v] for k, v in self.headers.items()},
        }
        targets.write_text(json.dumps(target) + "\n")
        return [
            str(ensure_tool("vegeta")),
            "attack",
            f"-targets={targets}",
            "-format=json",
            f"-rate={self.rate}/1s",
            f"-duration={self.duration}s",
            f"-keepalive={str(self.keepalive).lower()}",
            f"-timeout={self.timeout}s",
            f"-max-body={self.max_body}",
            "-redirects=-1",  # a redirect is an answer: count it, do not follow it
            f"-output={self._dir / 'results.gob'}",
        ]

    def start(self) -> Load:
        assert self._process is None, "already started"
        self._process = subprocess.Popen(
            self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def stop(self) -> Results:
        """Stop sending; wait for the requests in flight; return every result."""
        if self._results is not None:
            return self._results
        assert self._process is not None, "not started"
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # vegeta finishes the requests in flight
        try:
            _, stderr = self._process.communicate(timeout=self.timeout + 30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, stderr = self._process.communicate()
        if self._process.returncode not in (0, -signal.SIGINT):
            detail = stderr.decode(errors="replace")
            raise AssertionError(f"vegeta attack exited {self._process.returncode}: {detail}")
        self._results = _decode(self._dir / "results.gob")
        for path in self._dir.iterdir():
            path.unlink()
        self._dir.rmdir()
        return self._results

    def wait(self) -> Results:
        """For a run with a ``duration``: wait until vegeta ends by itself."""
        assert self._process is not None, "not started"
        self._process.wait(timeout=self.duration + self.timeout + 30)
        return self.stop()

    @property
    def results(self) -> Results:
        assert self._results is not None, "the load is still running: stop() it first"
        return self._results

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def burst(
    url: str,
    requests: int,
    *,
    rate: int = 200,
    headers: Mapping[str, str] | None = None,
    keepalive: bool = False,
) -> Results:
    """Exactly ``requests`` requests at ``rate`` per second (vegeta paces by time, so
    it is run a little longer and its first ``requests`` results are kept)."""
    duration = (requests + 0.5) / rate
    load = Load(url, rate=rate, headers=headers, keepalive=keepalive, duration=duration)
    results = load.start().wait()
    assert results.sent >= requests, f"vegeta sent {results.sent} of {requests} requests"
    return results.first(requests)


def _decode(gob: Path) -> Results:
    encoded = subprocess.run(
        [str(ensure_tool("vegeta")), "encode", "-to=json", str(gob)],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    responses = []
    for line in encoded.splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        responses.append(
            Response(
                seq=int(raw["seq"]),
                started=datetime.fromisoformat(raw["timestamp"]),
                latency=raw["latency"] / 1e9,
                code=int(raw["code"]),
                error=raw.get("error") or "",
                body=base64.b64decode(raw.get("body") or ""),
            )
        )
    return Results(tuple(sorted(responses, key=lambda r: r.seq)))


def wait_until_serving(
    url: str, *, timeout: float = 60.0, headers: Mapping[str, str] | None = None
) -> None:
    """Until ``url`` answers at all (a new Service is programmed into kube-proxy's
    rules a moment after its endpoints are ready)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status < 500:
                    return
                last = answer.status
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
            last = exc.code
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s (last: {last!r})")


def binomial_interval(n: int, p: float, confidence: float = 0.999) -> tuple[int, int]:
    """The central ``confidence`` range of successes in ``n`` trials of probability ``p``:
    the smallest ``low`` and ``high`` with P(X < low) and P(X > high) each at most
    (1 - confidence) / 2. A share measured outside it is wrong at that confidence."""
    if p <= 0.0:
        return 0, 0
    if p >= 1.0:
        return n, n
    tail = (1.0 - confidence) / 2
    log_p, log_q = math.log(p), math.log1p(-p)
    pmf = [
        math.exp(
            math.lgamma(n + 1)
            - math.lgamma(k + 1)
            - math.lgamma(n - k + 1)
            + k * log_p
            + (n - k) * log_q
        )
        for k in range(n + 1)
    ]
    low, below = 0, 0.0
    while below + pmf[low] <= tail:
        below += pmf[low]
        low += 1
    high, above = n, 0.0
    while above + pmf[high] <= tail:
        above += pmf[high]
        high -= 1
    return low, high
