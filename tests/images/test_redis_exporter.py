"""The redis_exporter stand-in against the valkey image, as the cache chart runs
its metrics sidecar (--redis.addr, --web.listen-address, REDIS_PASSWORD from the
Secret; read-only root, no capabilities, the image's non-root user): redis_up
and real INFO figures with the right password, redis_up 0 and the error with a
wrong one, the password file, and TLS refused rather than silently skipped."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from image_runner import Container, Image, bind, started

from charthouse.images.registry import free_port

pytestmark = pytest.mark.images

PASSWORD = "cache pw:with/odd chars"


@pytest.fixture
def valkey(
    image: Callable[[str], Image], container: Callable[..., Container], tmp_path: Path
) -> tuple[Container, int]:
    """Valkey with a password on 127.0.0.1, holding three keys in db0 (one expiring)."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    port = free_port()
    server = container(
        image("valkey"),
        args=["--bind", "127.0.0.1", "--port", str(port), "--requirepass", PASSWORD],
        user=(999, 999),
        mounts=[bind("/data", data)],
    ).start()

    def cli(*args: str) -> str:
        result = server.exec("valkey-cli", "-p", str(port), *args, env={"REDISCLI_AUTH": PASSWORD})
        return result.stdout.strip() + result.stderr.strip()

    server.wait_until(lambda: cli("PING") == "PONG", "valkey", timeout=30)
    for command in (["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3", "EX", "3600"]):
        assert cli(*command) == "OK"
    return server, port


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _metrics(port: int) -> dict[str, float]:
    values = {}
    for line in _get(port, "/metrics")[1].splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def _exporter(
    container: Callable[..., Container],
    image: Image,
    redis_port: int,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    mounts: tuple[object, ...] = (),
) -> tuple[Container, int]:
    """The sidecar as charts/cache renders it (its address flag, its port flag),
    listening on loopback only."""
    port = free_port()
    exporter = container(
        image,
        args=[
            f"--redis.addr=redis://127.0.0.1:{redis_port}",
            f"--web.listen-address=127.0.0.1:{port}",
            *args,
        ],
        env=env or {},
        mounts=list(mounts),
    )
    return exporter, port


def _scraped(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return "redis_up" in _metrics(port)
        except OSError:
            return False

    return check


def test_the_exporter_reports_the_server_with_the_right_password(
    image: Callable[[str], Image],
    container: Callable[..., Container],
    valkey: tuple[Container, int],
) -> None:
    exporter_image = image("redis-exporter")
    assert exporter_image.user() == (59000, 59000), "non-root, as upstream's image"
    assert exporter_image.config.get("ExposedPorts") == {"9121/tcp": {}}
    _, redis_port = valkey
    exporter, port = _exporter(
        container,
        exporter_image,
        redis_port,
        args=("--include-system-metrics",),
        env={"REDIS_PASSWORD": PASSWORD},
    )
    with started(exporter):
        exporter.wait_until(_scraped(port), "a scrape", timeout=30)
        assert _get(port, "/health") == (200, "ok")  # the chart's probes
        assert _get(port, "/")[0] == 200
        values = _metrics(port)
        assert values["redis_up"] == 1, exporter.output()
        assert values['redis_exporter_last_scrape_error{err=""}'] == 0
        assert values['redis_db_keys{db="db0"}'] == 3
        assert values['redis_db_keys_expiring{db="db0"}'] == 1
        assert values['redis_db_keys{db="db15"}'] == 0, "empty databases are reported too"
        assert values["redis_connected_clients"] >= 1
        assert values["redis_memory_used_bytes"] > 100_000
        assert values["redis_commands_processed_total"] >= 4
        assert values["redis_total_system_memory_bytes"] > 1e8
        assert values["redis_config_maxclients"] == 10000
        info = next(k for k in values if k.startswith("redis_instance_info{"))
        # Valkey 8 reports redis_version 7.2.4 for clients that check it
        assert 'role="master"' in info and 'redis_version="7.2.4"' in info
        before = values["redis_commands_processed_total"]
        assert _metrics(port)["redis_commands_processed_total"] > before, "a scrape per request"
        assert values["redis_exporter_scrapes_total"] >= 1
        assert any(k.startswith("go_goroutines") for k in values)


def test_a_wrong_password_is_redis_up_0_with_the_error(
    image: Callable[[str], Image],
    container: Callable[..., Container],
    valkey: tuple[Container, int],
) -> None:
    _, redis_port = valkey
    exporter, port = _exporter(
        container, image("redis-exporter"), redis_port, env={"REDIS_PASSWORD": "wrong"}
    )
    with started(exporter):
        exporter.wait_until(_scraped(port), "a scrape", timeout=30)
        values = _metrics(port)
        assert values["redis_up"] == 0
        (error,) = [k for k in values if k.startswith("redis_exporter_last_scrape_error")]
        assert "WRONGPASS" in error and values[error] == 1
        assert not any(k.startswith("redis_db_keys") for k in values)
        assert "redis_total_system_memory_bytes" not in values, "only with the flag"
        assert _get(port, "/health") == (200, "ok"), "the exporter itself is healthy"


def test_the_password_file_maps_the_address_to_its_password(
    image: Callable[[str], Image],
    container: Callable[..., Container],
    valkey: tuple[Container, int],
    tmp_path: Path,
) -> None:
    _, redis_port = valkey
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.json").write_text(
        json.dumps({f"redis://127.0.0.1:{redis_port}": PASSWORD})
    )
    exporter, port = _exporter(
        container,
        image("redis-exporter"),
        redis_port,
        args=("-redis.password-file=/run/secrets/redis/passwords.json",),  # one dash works too
        mounts=(bind("/run/secrets/redis", secret, readonly=True),),
    )
    with started(exporter):
        exporter.wait_until(_scraped(port), "a scrape", timeout=30)
        assert _metrics(port)["redis_up"] == 1, exporter.output()


def test_tls_is_refused_not_skipped_and_other_flags_are_named(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    exporter = image("redis-exporter")
    refused = container(exporter, args=["--tls-server-cert-file=/x.crt"]).run()
    assert refused.returncode == 2
    assert "TLS is not implemented by this stand-in" in refused.stdout
    version = container(exporter, args=["--version"]).run()
    assert version.returncode == 0 and "v1.74.0 (charthouse stand-in)" in version.stdout
    unknown = container(exporter, args=["--no-such-flag"]).run()
    assert unknown.returncode == 2 and "no-such-flag" in unknown.stdout
