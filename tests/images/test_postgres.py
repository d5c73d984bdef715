"""The postgres image keeps the official image's contract, run as the database
chart runs it: uid 999, read-only root filesystem, no capabilities, the chart's
volumes, the password from a file, init scripts, extra server arguments, a
restart over the same data, and the chart's backup and verify scripts."""

from __future__ import annotations

import gzip
import os
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from image_runner import DOCKER_CAPS, Container, Image, bind, tmpfs

from charthouse import paths
from charthouse.images.registry import free_port

pytestmark = pytest.mark.images

PASSWORD = "s3cret 'quoted' pw"
CHART_FILES = paths.CHARTS_DIR / "database" / "files"


def _volume(path: Path, *, mode: int = 0o2775, gid: int = 999) -> Path:
    """A fresh PVC as kubelet hands it over with fsGroup 999: root-owned, group-writable."""
    path.mkdir(parents=True)
    os.chown(path, 0, gid)
    path.chmod(mode)
    return path


@pytest.fixture
def volumes(tmp_path: Path) -> dict[str, Path]:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "password").write_text(PASSWORD + "\n")
    (secret / "app-password").write_text("app-pw\n")  # the app role's, as the chart mounts it
    initdb = tmp_path / "initdb"
    initdb.mkdir()
    (initdb / "01-schema.sql").write_text(
        "CREATE TABLE notes (id serial PRIMARY KEY, body text);\n"
    )
    (initdb / "02-app-user.sh").write_text((CHART_FILES / "initdb-app-user.sh").read_text())
    (initdb / "03-rows.sql.gz").write_bytes(
        gzip.compress(b"INSERT INTO notes (body) VALUES ('first'), ('second');\n")
    )
    (initdb / "04-mark.sh").write_text(
        "#!/bin/bash\n# not executable: sourced, so the entrypoint's functions are there\n"
        "docker_process_sql -c \"INSERT INTO notes (body) VALUES ('sourced')\"\n"
    )
    return {
        "data": _volume(tmp_path / "data"),
        "secret": secret,
        "initdb": initdb,
        "backups": _volume(tmp_path / "backups"),
    }


def _chart_config(directory: Path, port: int) -> Path:
    """postgresql.conf and pg_hba.conf as the database chart renders them (on loopback)."""
    directory.mkdir(exist_ok=True)
    (directory / "postgresql.conf").write_text(
        f"listen_addresses = '127.0.0.1'\nport = '{port}'\n"
        "unix_socket_directories = '/var/run/postgresql'\n"
        "hba_file = '/etc/postgresql/pg_hba.conf'\npassword_encryption = 'scram-sha-256'\n"
        "timezone = 'UTC'\nlog_destination = 'stderr'\n"
    )
    (directory / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        "host all all ::1/128 scram-sha-256\n"
    )
    return directory


def _server(
    container: Callable[..., Container], pg: Image, volumes: dict[str, Path], port: int
) -> Container:
    config = _chart_config(volumes["data"].with_name("config"), port)
    return container(
        pg,
        args=["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"],
        user=(999, 999),
        groups=[999],
        env={
            "POSTGRES_PASSWORD_FILE": "/run/secrets/db/password",
            "POSTGRES_DB": "appdb",
            "CHARTHOUSE_APP_USERNAME": "app",
            "CHARTHOUSE_APP_PASSWORD_FILE": "/run/secrets/db/app-password",
        },
        mounts=[
            bind("/var/lib/postgresql", volumes["data"]),
            bind("/run/secrets/db", volumes["secret"], readonly=True),
            bind("/etc/postgresql", config, readonly=True),
            bind("/docker-entrypoint-initdb.d", volumes["initdb"], readonly=True),
            bind("/opt/charthouse/scripts", CHART_FILES, readonly=True),
            tmpfs("/var/run/postgresql"),
            tmpfs("/tmp"),
        ],
    )


def _ready(server: Container, port: int) -> None:
    server.wait_until(
        lambda: server.exec("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)).returncode == 0,
        "server accepting TCP connections",
        timeout=120,
    )


def _sql(
    server: Container,
    port: int,
    query: str,
    *,
    user: str = "postgres",
    password: str = PASSWORD,
    db: str = "appdb",
) -> str:
    result = server.exec(
        "psql",
        "-X",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        user,
        "-d",
        db,
        "-c",
        query,
        env={"PGPASSWORD": password},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_initialises_as_999_on_a_read_only_root_and_logs_in_with_the_file_password(
    image: Callable[[str], Image], container: Callable[..., Container], volumes: dict[str, Path]
) -> None:
    port = free_port()
    server = _server(container, image("postgres"), volumes, port).start()
    _ready(server, port)
    assert "PostgreSQL init process complete; ready for start up." in server.output()

    assert _sql(server, port, "SELECT current_user, current_database()") == "postgres|appdb"
    assert _sql(server, port, "SELECT version()").startswith("PostgreSQL 18.6")
    # init scripts ran in name order: .sql, the chart's sourced .sh, .sql.gz, a sourced .sh
    assert _sql(server, port, "SELECT string_agg(body, ',' ORDER BY id) FROM notes") == (
        "first,second,sourced"
    )
    assert (
        _sql(
            server, port, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'"
        )
        == "app"
    )
    assert _sql(server, port, "SELECT current_user", user="app", password="app-pw") == "app"
    wrong = server.exec(
        "psql",
        "-X",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "postgres",
        "-d",
        "appdb",
        "-c",
        "SELECT 1",
        env={"PGPASSWORD": "wrong"},
    )
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    # the default locale, and the extra argument (the chart's config_file) reached the server
    assert (
        _sql(server, port, "SELECT datcollate FROM pg_database WHERE datname = 'appdb'")
        == "en_US.utf8"
    )
    assert _sql(server, port, "SHOW hba_file") == "/etc/postgresql/pg_hba.conf"
    # psql inside the container finds the server's socket by default (PGHOST)
    local = server.exec(
        "psql", "-X", "-A", "-t", "-p", str(port), "-U", "postgres", "-c", "SELECT 42"
    )
    assert local.stdout.strip() == "42", local.stderr

    touched = server.exec("touch", "/usr/lib/postgresql/x")
    assert "Read-only file system" in touched.stderr
    whoami = server.exec("id", "-un")
    assert whoami.stdout.strip() == "postgres"
    pgdata = volumes["data"] / "18" / "docker"
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"
    assert pgdata.stat().st_uid == 999 and (pgdata.stat().st_mode & 0o777) == 0o700

    assert server.stop() == 0  # SIGTERM is a clean (smart) shutdown
    again = _server(container, image("postgres"), volumes, port).start()
    _ready(again, port)
    assert "Skipping initialization" in again.output()
    assert _sql(again, port, "SELECT count(*) FROM notes") == "3"


def test_backup_and_verify_scripts_of_the_chart_run_in_the_image(
    image: Callable[[str], Image], container: Callable[..., Container], volumes: dict[str, Path]
) -> None:
    port = free_port()
    pg = image("postgres")
    server = _server(container, pg, volumes, port).start()
    _ready(server, port)

    scripts = [bind("/opt/charthouse/scripts", CHART_FILES, readonly=True), tmpfs("/tmp")]
    backup = container(
        pg,
        args=["bash", "/opt/charthouse/scripts/backup.sh"],
        user=(999, 999),
        groups=[999],
        env={
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
            "PGUSER": "postgres",
            "PGPASSWORD": PASSWORD,
            "BACKUP_DIR": "/backups",
            "BACKUP_DATABASES": "appdb",
            "BACKUP_RETENTION": "2",
        },
        mounts=[bind("/backups", volumes["backups"]), *scripts],
    ).run()
    assert backup.returncode == 0, backup.stdout
    dumps = sorted((volumes["backups"] / "appdb").glob("appdb-*.dump"))
    assert len(dumps) == 1 and (dumps[0].parent / (dumps[0].name + ".sha256")).is_file()

    verify = container(
        pg,
        args=["bash", "/opt/charthouse/scripts/verify.sh"],
        user=(999, 999),
        groups=[999],
        env={"BACKUP_DIR": "/backups", "BACKUP_DATABASES": "appdb", "SCRATCH_DIR": "/scratch"},
        mounts=[bind("/backups", volumes["backups"]), tmpfs("/scratch"), *scripts],
    ).run(timeout=300)
    assert verify.returncode == 0, verify.stdout
    assert "rows match" in verify.stdout
    verified = (dumps[0].parent / (dumps[0].name + ".verified")).read_text()
    assert "rows=3" in verified


def test_an_empty_password_is_refused_with_the_official_message(
    image: Callable[[str], Image], container: Callable[..., Container], tmp_path: Path
) -> None:
    result = container(
        image("postgres"),
        user=(999, 999),
        mounts=[
            bind("/var/lib/postgresql", _volume(tmp_path / "data")),
            tmpfs("/var/run/postgresql"),
        ],
    ).run()
    assert result.returncode == 1
    assert "no superuser password is set" in result.stdout
    assert "POSTGRES_HOST_AUTH_METHOD=trust" in result.stdout
    assert not (tmp_path / "data" / "18" / "docker" / "PG_VERSION").exists()


def test_started_as_root_it_hands_the_data_to_postgres(
    image: Callable[[str], Image], container: Callable[..., Container], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()  # root-owned, 0755: the entrypoint must chown it
    port = free_port()
    server = container(
        image("postgres"),
        args=["-p", str(port), "-c", "listen_addresses=127.0.0.1"],  # options only: postgres
        user=(0, 0),
        capabilities=DOCKER_CAPS,
        env={"POSTGRES_PASSWORD": PASSWORD, "POSTGRES_USER": "admin"},
        mounts=[bind("/var/lib/postgresql", data), tmpfs("/var/run/postgresql"), tmpfs("/tmp")],
    ).start()
    _ready(server, port)
    assert _sql(server, port, "SELECT current_user", user="admin", db="admin") == "admin"
    assert (data / "18" / "docker").stat().st_uid == 999
    status = (Path("/proc") / str(server.pid()) / "status").read_text()
    assert "\nUid:\t999\t999\t999\t999\n" in status, "the server runs as postgres"


def test_the_client_tools_the_chart_uses_are_on_path(image: Callable[[str], Image]) -> None:
    rootfs = image("postgres").rootfs
    bindir = rootfs / "usr/lib/postgresql/18/bin"
    for tool in (
        "postgres",
        "initdb",
        "pg_ctl",
        "psql",
        "pg_dump",
        "pg_dumpall",
        "pg_restore",
        "pg_isready",
        "createdb",
        "dropdb",
    ):
        assert (bindir / tool).is_file(), tool
    for tool in ("bash", "find", "sort", "sha256sum", "awk", "sed", "stat", "gunzip", "setpriv"):
        assert shutil.which(tool, path=f"{rootfs}/usr/bin:{rootfs}/usr/sbin:{rootfs}/bin"), tool


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_the_exporter_stand_in_reports_the_server_as_the_chart_configures_it(
    image: Callable[[str], Image], container: Callable[..., Container], volumes: dict[str, Path]
) -> None:
    port, metrics_port = free_port(), free_port()
    server = _server(container, image("postgres"), volumes, port).start()
    _ready(server, port)
    exporter_image = image("postgres-exporter")
    assert exporter_image.user() == (65534, 65534)
    exporter = container(
        exporter_image,  # the sidecar's args and env, as charts/database renders them
        args=[f"--web.listen-address=127.0.0.1:{metrics_port}", "--collector.stat_statements"],
        env={
            "DATA_SOURCE_URI": f"127.0.0.1:{port}/postgres?sslmode=disable",
            "DATA_SOURCE_USER": "postgres",
            "DATA_SOURCE_PASS_FILE": "/run/secrets/db/password",
        },
        mounts=[bind("/run/secrets/db", volumes["secret"], readonly=True)],
    ).start()

    def scraped() -> bool:
        try:
            return _metrics(metrics_port).get("pg_up") == 1
        except OSError:
            return False

    exporter.wait_until(scraped, "pg_up 1", timeout=30)
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/", timeout=10) as landing:
        assert landing.status == 200  # the chart's probes GET /
    values = _metrics(metrics_port)
    assert values["pg_exporter_last_scrape_error"] == 0
    assert (
        values[
            'pg_static{short_version="18.6.0",version="'
            + next(k for k in values if k.startswith("pg_static")).split('version="', 2)[2]
        ]
        == 1
    )
    assert values["pg_settings_max_connections"] == 100
    assert values["pg_settings_shared_buffers_bytes"] == 128 * 1024 * 1024
    assert values["pg_settings_fsync"] == 1
    assert any(
        k.startswith("pg_stat_database_xact_commit{datid=") and 'datname="appdb"' in k
        for k in values
    )
    assert any(k.startswith("pg_database_size_bytes") and 'datname="appdb"' in k for k in values)
    assert values["pg_postmaster_start_time_seconds"] > 1.7e9
    assert "stat_statements" in exporter.output()  # accepted, reported as not implemented

    server.stop()
    assert _metrics(metrics_port)["pg_up"] == 0
    assert _metrics(metrics_port)["pg_exporter_last_scrape_error"] == 1
