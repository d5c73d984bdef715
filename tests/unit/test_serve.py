"""`charthouse serve`: real HTTP against the server, and real helm 3/4 clients against it."""

from __future__ import annotations

import base64
import http.client
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from charthouse.errors import CharthouseError
from charthouse.serve import RepoServer, hash_password, load_auth_file
from support.chartrepo import ChartRepo, GpgKey, Runner, helm_env


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.yaml").write_text("apiVersion: v1\nentries: {}\n")
    (root / "app-0.1.0.tgz").write_bytes(b"\x1f\x8b fake archive")
    (root / "app-0.1.0.tgz.prov").write_text("-----BEGIN PGP SIGNED MESSAGE-----\n")
    (root / ".index.lock").write_text("")
    (root / "notes.txt").write_text("not a repository file")
    (tmp_path / "secret.yaml").write_text("outside the site")
    (root / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    return root


def start(root: Path, users: dict[str, object] | None = None) -> Iterator[int]:
    server = RepoServer(("127.0.0.1", 0), root, users)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def port(site: Path) -> Iterator[int]:
    yield from start(site)


def request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/index.yaml", "application/yaml"),
        ("/app-0.1.0.tgz", "application/gzip"),
        ("/app-0.1.0.tgz.prov", "application/pgp-signature"),
    ],
)
def test_repository_files_have_their_content_types(
    port: int, site: Path, path: str, content_type: str
) -> None:
    status, headers, body = request(port, "GET", path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    assert body == (site / path.lstrip("/")).read_bytes()
    assert int(headers["Content-Length"]) == len(body)


def test_head_sends_headers_without_a_body(port: int) -> None:
    status, headers, body = request(port, "HEAD", "/index.yaml")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 0 and headers["ETag"]


def test_etag_and_last_modified_give_304_until_the_file_changes(port: int, site: Path) -> None:
    _, headers, _ = request(port, "GET", "/index.yaml")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert request(port, "GET", "/index.yaml", {"If-None-Match": etag})[0] == 304
    assert request(port, "GET", "/index.yaml", {"If-None-Match": f'"x", W/{etag}'})[0] == 304
    assert request(port, "GET", "/index.yaml", {"If-Modified-Since": modified})[0] == 304
    past = formatdate(time.time() - 86400 * 365, usegmt=True)
    assert request(port, "GET", "/index.yaml", {"If-Modified-Since": past})[0] == 200
    (site / "index.yaml").write_text("apiVersion: v1\nentries: {app: []}\n")
    status, headers, _ = request(port, "GET", "/index.yaml", {"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.yaml",
        "/%2e%2e/secret.yaml",
        "/%2E%2E%2Fsecret.yaml",
        "/%252e%252e/secret.yaml",
        "/..%5csecret.yaml",
        "/index.yaml%00.tgz",
        "/link.yaml",
        "/.index.lock",
        "/notes.txt",
        "/",
        "//etc/passwd",
        "/missing.tgz",
    ],
)
def test_nothing_outside_the_repository_files_is_served(port: int, path: str) -> None:
    status, _, body = request(port, "GET", path)
    assert status == 404, path
    assert b"outside the site" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_methods_other_than_get_and_head_get_405(port: int, method: str) -> None:
    status, headers, _ = request(port, method, "/index.yaml")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


def test_basic_auth_admits_only_the_right_password(site: Path, tmp_path: Path) -> None:
    auth = tmp_path / "users"
    auth.write_text(f"# users\nci:{hash_password('s3cret', iterations=1000)}\n")
    for port in start(site, load_auth_file(auth)):  # type: ignore[arg-type]

        def basic(user: str, password: str) -> dict[str, str]:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}

        status, headers, _ = request(port, "GET", "/index.yaml")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        assert request(port, "GET", "/index.yaml", basic("ci", "wrong"))[0] == 401
        assert request(port, "GET", "/index.yaml", basic("nobody", "s3cret"))[0] == 401
        assert request(port, "GET", "/index.yaml", {"Authorization": "Basic !!!"})[0] == 401
        assert request(port, "GET", "/index.yaml", basic("ci", "s3cret"))[0] == 200


def test_a_malformed_auth_file_is_named_with_its_line(tmp_path: Path) -> None:
    auth = tmp_path / "users"
    auth.write_text("ci:plaintext\n")
    with pytest.raises(CharthouseError, match=r"users:1: expected user:pbkdf2_sha256"):
        load_auth_file(auth)


def serve_process(root: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "charthouse", "serve", str(root), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    assert "serving" in line, line + (proc.stderr.read() if proc.poll() is not None else "")
    return proc, int(line.rsplit(":", 1)[1].split("/")[0])


def test_sigterm_shuts_down_cleanly_and_requests_are_logged(site: Path) -> None:
    proc, port = serve_process(site)
    try:
        assert request(port, "GET", "/index.yaml")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert '"GET /index.yaml HTTP/1.1" 200' in stderr
    assert "SIGTERM, shutting down" in stderr


def test_helm_repo_add_search_pull_verify_and_install_from_the_served_repo(
    chart_repo: ChartRepo, run_release: Runner, gpg_key: GpgKey, helm: Path, tmp_path: Path
) -> None:
    released = run_release("--sign", gpg_key.uid, env={"GNUPGHOME": str(gpg_key.home)})
    assert released.returncode == 0, released.stderr
    proc, port = serve_process(chart_repo.repo_dir)
    env = helm_env(tmp_path / "client")

    def helm_run(*args: str) -> str:
        result = subprocess.run(
            [str(helm), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr}"
        return result.stdout

    try:
        helm_run("repo", "add", "charthouse", f"http://127.0.0.1:{port}")
        found = helm_run("search", "repo", "charthouse/", "--output", "yaml")
        assert {"charthouse/app", "charthouse/common", "charthouse/stack"} <= {
            line.split(": ", 1)[1] for line in found.splitlines() if "name: " in line
        }
        helm_run(
            "pull",
            "charthouse/stack",
            "--verify",
            "--keyring",
            str(gpg_key.public_keyring),
            "--destination",
            str(tmp_path),
        )
        assert (tmp_path / "stack-0.1.0.tgz").read_bytes() == (
            chart_repo.repo_dir / "stack-0.1.0.tgz"
        ).read_bytes()
        if helm_run("version", "--short").startswith("v3."):
            # helm 3.22's `install --dry-run=client` still probes the cluster
            # (action.Install.RunWithContext checks reachability unless ClientOnly);
            # `helm template` is helm 3's client-only install.
            manifest = helm_run("template", "demo", "charthouse/stack")
        else:
            manifest = helm_run("install", "demo", "charthouse/stack", "--dry-run=client")
        assert "name: demo-app" in manifest
        helm_run("repo", "update")  # second fetch: the server answers with the cached index
    finally:
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=15)
    assert '"GET /index.yaml HTTP/1.1" 200' in log
    assert '"GET /stack-0.1.0.tgz.prov HTTP/1.1" 200' in log
