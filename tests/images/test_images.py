"""Each image does what the charts and the node rely on, run as a restricted pod
would run it (busybox, postgres and redis_exporter have modules of their own):
the whoami stand-in's endpoints, Traefik's version and entrypoint, CoreDNS's
plugin set, metrics-server's version and flags, Valkey with a password and an
append-only file, and the pause container."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from image_runner import Container, Image, bind, in_netns, started, tmpfs

from charthouse.images.registry import free_port

pytestmark = pytest.mark.images


def _http(netns: Path, url: str, *, method: str = "GET", body: str = "") -> tuple[int, str]:
    """An HTTP request from inside a network namespace (the host's Python, via nsenter)."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1], method=sys.argv[2], "
        "data=sys.argv[3].encode() or None)\n"
        "try:\n    r = urllib.request.urlopen(req, timeout=5); print(r.status); "
        "print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n    print(e.code)\n"
    )
    result = in_netns(netns, sys_executable(), "-c", script, url, method, body)
    assert result.returncode == 0, result.stderr
    status, _, text = result.stdout.partition("\n")
    return int(status), text


def sys_executable() -> str:
    import sys

    return sys.executable


def _loopback_up(netns: Path) -> None:
    result = in_netns(netns, "ip", "link", "set", "lo", "up")
    assert result.returncode == 0, result.stderr


def test_whoami_stand_in_keeps_the_upstream_endpoints(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    server = container(
        image("whoami"),
        args=[],
        env={"WHOAMI_PORT_NUMBER": "8081", "WHOAMI_NAME": "from-env"},
        network="new",
        user=(65534, 65534),
    )
    with started(server):
        netns = server.netns
        _loopback_up(netns)
        base = "http://127.0.0.1:8081"
        server.wait_until(lambda: _http(netns, base + "/bench")[0] == 200, "whoami")
        status, text = _http(netns, base + "/anything?x=1")
        assert status == 200
        assert "Name: from-env" in text and "Hostname: charthouse-test" in text
        assert "IP: 127.0.0.1" in text and "GET /anything?x=1 HTTP/1.1" in text
        api = json.loads(_http(netns, base + "/api")[1])
        assert api["hostname"] == "charthouse-test" and api["name"] == "from-env"
        assert api["method"] == "GET" and api["url"] == "/api"
        assert _http(netns, base + "/health")[0] == 200
        assert _http(netns, base + "/health", method="POST", body="503")[0] == 200
        assert _http(netns, base + "/health")[0] == 503
        assert _http(netns, base + "/health/live")[0] == 200, "probe paths answer 200 (see /)"
        assert len(_http(netns, base + "/data?size=3&unit=KB")[1]) == 3 * 1024 + 1  # + print's \n
        assert _http(netns, base + "/bench")[1].strip() == "1"
    assert image("whoami").config.get("ExposedPorts") == {"80/tcp": {}}


def test_traefik_reports_its_version_and_answers_like_the_charts_test_expects(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    traefik = image("traefik")
    version = container(traefik, args=["version"], user=(65532, 65532)).run()
    assert version.returncode == 0, version.stdout
    assert "v3.6.12" in version.stdout
    server = container(
        traefik,
        args=[
            "--entryPoints.web.address=:8000",
            "--ping=true",
            "--ping.entryPoint=web",
            "--global.checkNewVersion=false",
            "--global.sendAnonymousUsage=false",
        ],
        user=(65532, 65532),
        network="new",
        mounts=[tmpfs("/tmp")],
    )
    with started(server):
        netns = server.netns
        _loopback_up(netns)
        server.wait_until(lambda: _http(netns, "http://127.0.0.1:8000/ping")[0] == 200, "ping")
        # the ingress chart's helm test script, with the image's own sh, wget, grep and date
        check = server.exec(
            "/bin/sh",
            "-c",
            "deadline=$(( $(date +%s) + 10 )); "
            'out=$(wget -S -T 5 -O /dev/null --header "Host: helm-test.invalid" '
            "http://127.0.0.1:8000/ 2>&1); "
            'echo "$out" | grep -q "HTTP/1.1 [0-9][0-9][0-9]" && '
            'echo "controller answered: $(echo "$out" | grep "HTTP/1.1" | head -n 1)"',
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "HTTP/1.1 404" in check.stdout


def test_coredns_links_exactly_the_clusters_plugins(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    coredns = image("coredns")
    assert coredns.user() == (65532, 65532)
    listed = container(coredns, args=["-plugins"]).run()
    assert listed.returncode == 0, listed.stdout
    plugins = {line.strip() for line in listed.stdout.splitlines() if line.strip()}
    chosen = {
        "cache",
        "errors",
        "health",
        "kubernetes",
        "loadbalance",
        "log",
        "loop",
        "prometheus",
        "ready",
        "reload",
    }
    # metadata and transfer come with the kubernetes plugin's Go package
    assert plugins == chosen | {"metadata", "transfer"}
    assert "forward" not in plugins
    version = container(coredns, args=["-version"]).run()
    assert "CoreDNS-1.15.0" in version.stdout


def test_metrics_server_reports_its_version_and_runs_as_upstreams_user(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    metrics_server = image("metrics-server")
    assert metrics_server.user() == (65534, 65534)
    version = container(metrics_server, args=["--version"]).run()
    assert version.returncode == 0, version.stdout
    assert version.stdout.strip() == "v0.8.0"
    # the kubelet flags the test clusters pass are flags of this build
    usage = container(metrics_server, args=["--help"]).run()
    for flag in (
        "--kubelet-certificate-authority",
        "--kubelet-client-certificate",
        "--kubelet-use-node-status-port",
        "--metric-resolution",
    ):
        assert flag in usage.stdout, flag


def test_coredns_serves_health_on_an_unprivileged_port_without_capabilities(
    image: Callable[[str], Image], container: Callable[..., Container], tmp_path: Path
) -> None:
    corefile = tmp_path / "coredns"
    corefile.mkdir()
    (corefile / "Corefile").write_text(".:1053 {\n  errors\n  health :8080\n  ready :8181\n}\n")
    server = container(
        image("coredns"),
        args=["-conf", "/etc/coredns/Corefile"],
        network="new",
        mounts=[bind("/etc/coredns", corefile, readonly=True)],
    )
    with started(server):
        netns = server.netns
        _loopback_up(netns)
        server.wait_until(lambda: _http(netns, "http://127.0.0.1:8080/health")[0] == 200, "health")
        assert _http(netns, "http://127.0.0.1:8181/ready")[0] == 200


def test_valkey_runs_as_999_with_a_password_and_an_append_only_file(
    image: Callable[[str], Image], container: Callable[..., Container], tmp_path: Path
) -> None:
    valkey = image("valkey")
    assert valkey.user() == (0, 0) and valkey.config.get("WorkingDir") == "/data"
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    port = free_port()
    server = container(
        valkey,
        args=[
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--appendonly",
            "yes",
            "--requirepass",
            "cache-pw",
        ],
        user=(999, 999),
        mounts=[bind("/data", data)],
    )
    with started(server):

        def cli(*args: str) -> str:
            result = server.exec("valkey-cli", "-p", str(port), *args, env={"REDISCLI_AUTH": ""})
            return result.stdout.strip() + result.stderr.strip()

        server.wait_until(lambda: "NOAUTH" in cli("PING"), "server", timeout=30)
        assert cli("-a", "cache-pw", "--no-auth-warning", "SET", "k", "v") == "OK"
        assert cli("-a", "cache-pw", "--no-auth-warning", "GET", "k") == "v"
        assert "8.1.1" in cli("-a", "cache-pw", "--no-auth-warning", "INFO", "server")
        time.sleep(1.2)  # appendfsync everysec
    aof = list((data / "appendonlydir").glob("*.aof"))
    assert aof and any(b"cache-pw" not in p.read_bytes() and b"SET" in p.read_bytes() for p in aof)
    assert all(p.stat().st_uid == 999 for p in aof)


def test_pause_runs_as_65535_and_exits_on_sigterm(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    pause = image("pause")
    assert pause.user() == (65535, 65535)
    version = container(pause, args=["-v"]).run()
    assert "pause.c v3.10.2" in version.stdout
    running = container(pause).start()
    time.sleep(0.5)
    assert running.running(), running.output()
    assert running.stop(timeout=10) == 0
