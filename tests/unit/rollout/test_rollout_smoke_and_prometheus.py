"""The smoke-test pod (its script run for real, its spec through our Pod Security policy)
and the Prometheus gate against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from charthouse import policy
from charthouse.errors import CharthouseError
from charthouse.manifests import Manifests
from charthouse.rollout import prometheus, smoke
from charthouse.rollout.settings import PrometheusGate
from support.rendering import RenderFn
from support.servers import handler_port

# STAND-IN for busybox's `nc HOST PORT` (the host has no busybox): stdin to the socket,
# the answer to stdout, exactly what the script pipes through.
NC = f"""#!{sys.executable}
import socket, sys
host, port = sys.argv[-2], int(sys.argv[-1])
try:
    conn = socket.create_connection((host, port), timeout=5)
except OSError:
    sys.exit(1)
conn.sendall(sys.stdin.buffer.read())
while chunk := conn.recv(65536):
    sys.stdout.buffer.write(chunk)
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    codes: ClassVar[dict[str, int]] = {}
    answers: ClassVar[list[bytes]] = []
    queries: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/api/v1/query":
            self.queries.append(urllib.parse.parse_qs(url.query)["query"][0])
            body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            self.send_response(200)
        else:
            body = b"hello"
            self.send_response(self.codes.get(url.path, 404))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    with handler_port(_Handler) as port:
        yield port


def _busybox() -> str | None:
    return os.environ.get("CHARTHOUSE_BUSYBOX") or shutil.which("busybox")


@pytest.fixture(params=["nc-stand-in", "busybox"])
def shell(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """How the script runs: the host's sh with the nc stand-in, or busybox's own sh and nc
    (what the smoke pod runs; set CHARTHOUSE_BUSYBOX or put busybox on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if request.param == "busybox":
        busybox = _busybox()
        if busybox is None:
            pytest.skip("no busybox here (CHARTHOUSE_BUSYBOX=/path/to/busybox runs it)")
        for applet in ("nc", "head", "tr", "date", "sleep"):
            (bin_dir / applet).symlink_to(busybox)
        return [busybox, "sh"]
    (bin_dir / "nc").write_text(NC)
    (bin_dir / "nc").chmod(0o755)
    return ["sh"]


def run_script(
    shell: list[str], tmp_path: Path, port: int, path: str, expect: int, timeout: int = 3
) -> tuple[int, str]:
    result_file = tmp_path / "termination-log"
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "SMOKE_HOST": "127.0.0.1",
        "SMOKE_PORT": str(port),
        "SMOKE_PATH": path,
        "SMOKE_EXPECT": str(expect),
        "SMOKE_TIMEOUT": str(timeout),
        "SMOKE_RESULT": str(result_file),
    }
    done = subprocess.run(
        [*shell, "-c", smoke.SCRIPT], env=env, capture_output=True, text=True, timeout=30
    )
    return done.returncode, result_file.read_text().strip()


def test_script_passes_on_the_expected_status(
    shell: list[str], tmp_path: Path, server: int
) -> None:
    _Handler.codes = {"/health/ready": 200}
    code, message = run_script(shell, tmp_path, server, "/health/ready", 200)
    assert code == 0
    assert message == f"HTTP 200 from http://127.0.0.1:{server}/health/ready (expected 200)"


def test_script_fails_on_a_500_saying_so(shell: list[str], tmp_path: Path, server: int) -> None:
    _Handler.codes = {"/smoke": 500}
    code, message = run_script(shell, tmp_path, server, "/smoke", 200)
    assert code == 1 and message.startswith("HTTP 500 from ")


def test_script_can_expect_another_status(shell: list[str], tmp_path: Path, server: int) -> None:
    code, _ = run_script(shell, tmp_path, server, "/missing", 404)
    assert code == 0


def test_script_gives_up_when_nothing_answers(shell: list[str], tmp_path: Path) -> None:
    code, message = run_script(shell, tmp_path, 9, "/", 200, timeout=2)  # port 9: discard, closed
    assert code == 1 and message == "no HTTP answer from http://127.0.0.1:9/ within 2s"


def test_the_smoke_pod_is_the_charts_test_pod_and_meets_our_policy(render: RenderFn) -> None:
    rendered = render("app", {"tests": {"image": {"registry": "mirror.local"}}})
    template = smoke.test_pod_template(rendered.objects)
    request = smoke.Request("rel-app-preview.ns.svc", 80, "/", 200, 30)
    body = smoke.pod(template, "rel", request)
    assert policy.check(Manifests([body])) == []
    container = body["spec"]["containers"][0]
    assert container["image"] == "mirror.local/busybox:1.37.0"
    assert container["command"][:2] == ["sh", "-c"]
    assert body["spec"]["restartPolicy"] == "Never"
    assert body["spec"]["activeDeadlineSeconds"] == 30 + smoke.START_SECONDS
    # not selected by the release's Services, PDB or NetworkPolicy (component "app")
    assert body["metadata"]["labels"]["app.kubernetes.io/component"] == "rollout-smoke"


def test_a_release_without_a_test_pod_is_told_how_to_go_on() -> None:
    with pytest.raises(CharthouseError, match=r"smokeTest\.enabled=false"):
        smoke.test_pod_template([])


def test_query_templates_keep_promql_braces() -> None:
    text = 'sum(rate(http_requests_total{track="$track",code=~"5.."}[1m])) / $missing'
    assert prometheus.render_query(text, {"track": "canary"}) == (
        'sum(rate(http_requests_total{track="canary",code=~"5.."}[1m])) / $missing'
    )


def test_prometheus_over_http(server: int) -> None:
    _Handler.answers = [
        json.dumps(
            {"status": "success", "data": {"resultType": "scalar", "result": [1, "0.5"]}}
        ).encode()
    ]
    gate = PrometheusGate(address=f"http://127.0.0.1:{server}", query="q", max=1.0)
    reading = prometheus.query(gate, "sum(up)", proxy=None)  # type: ignore[arg-type]
    assert reading.value == 0.5 and _Handler.queries[-1] == "sum(up)"
    assert prometheus.within(reading, gate) is True


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        ({"resultType": "vector", "result": []}, None),
        ({"resultType": "vector", "result": [{"value": [1, "NaN"]}]}, None),
        ({"resultType": "vector", "result": [{"value": [1, "3"]}]}, 3.0),
    ],
)
def test_prometheus_answers(payload: dict[str, object], value: float | None) -> None:
    reading = prometheus.parse({"status": "success", "data": payload}, "q")
    assert reading.value == value


def test_prometheus_refuses_many_series_and_errors() -> None:
    many = {"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}
    with pytest.raises(CharthouseError, match="2 series; aggregate"):
        prometheus.parse({"status": "success", "data": many}, "q")
    with pytest.raises(CharthouseError, match="bad_data"):
        prometheus.parse({"status": "error", "error": "bad_data: parse error"}, "q")
