"""The busybox image behaves as the official one where the charts and tests rely
on it, run as their pods run it (uid 65534, read-only root, no capabilities):
the init container's `nc -z` wait, the helm tests' wget, busybox httpd as a test
service, upstream's applet set, and the official glibc variant's layout."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from image_runner import Container, Image, bind, in_netns, started

from charthouse.images.registry import free_port

pytestmark = pytest.mark.images

NOBODY = (65534, 65534)
# Applets the charts' hooks and scenarios and our tests run; upstream's defconfig
# enables each (Debian's busybox-static build had an nc without -z).
USED_APPLETS = (
    "sh", "wget", "nc", "nslookup", "httpd", "grep", "sed", "awk", "date", "id", "unshare", "ip",
)  # fmt: skip


@contextmanager
def _listening() -> Iterator[int]:
    """A TCP port on the host's 127.0.0.1 that accepts connections for the block."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def _busybox(
    image: Callable[[str], Image], container: Callable[..., Container], script: str, **kw: object
) -> Container:
    return container(image("busybox"), args=["sh", "-c", script], user=NOBODY, **kw)


def test_nc_z_succeeds_on_a_listening_port_and_fails_on_a_closed_one(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    """The app chart's init-wait scenario: `nc -z -w 2 HOST PORT` until it succeeds,
    HOST resolved by name (here through /etc/hosts, as glibc's libnss_files does)."""
    hosts = "127.0.0.1 localhost dependency\n"
    with _listening() as port:
        wait = _busybox(
            image,
            container,
            f"n=0; until nc -z -w 2 dependency {port}; do n=$((n+1)); [ $n -lt 3 ] || exit 9; "
            "done; echo reachable",
            hosts=hosts,
        ).run()
    assert wait.returncode == 0, wait.stdout
    assert "reachable" in wait.stdout
    closed = _busybox(
        image, container, f"nc -z -w 2 dependency {free_port()}; echo exit=$?", hosts=hosts
    ).run()
    assert "Usage" not in closed.stdout, "an nc without -z prints its usage"
    assert closed.stdout.strip().endswith("exit=1"), closed.stdout


def test_wget_fetches_by_name_from_a_service(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    """The app chart's helm test: `wget -q -T 10 -O /dev/null http://<service>:<port>/<path>`
    (Debian bookworm's static busybox wget crashed here; a signal shows as exit >= 128)."""
    server = container(
        image("whoami"), args=["--port=8080", "--name=probe"], network="new", user=NOBODY
    )
    with started(server):
        netns = server.netns
        assert in_netns(netns, "ip", "link", "set", "lo", "up").returncode == 0
        client = _busybox(
            image,
            container,
            "until wget -q -T 2 -O /dev/null http://app-under-test:8080/bench; do sleep 0.2; done; "
            "wget -q -T 10 -O - http://app-under-test:8080/health/ready && "
            "wget -q -T 10 -O /dev/null http://app-under-test:8080/ && echo fetched-ok",
            network=netns,
            hosts="127.0.0.1 localhost app-under-test\n",
        ).run(timeout=60)
    assert client.returncode == 0, client.stdout
    assert "fetched-ok" in client.stdout
    assert "Name: probe" in client.stdout and "GET /health/ready HTTP/1.1" in client.stdout


def test_httpd_serves_a_mounted_directory(
    image: Callable[[str], Image], container: Callable[..., Container], tmp_path: Path
) -> None:
    """busybox httpd as the custom-probes scenario's service and the node tests' server."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("token-7f3a\n")
    port = free_port()
    served = _busybox(
        image,
        container,
        f"httpd -p 127.0.0.1:{port} -h /www && "
        f"until wget -q -T 2 -O - http://127.0.0.1:{port}/index.html; do sleep 0.2; done",
        mounts=[bind("/www", site, readonly=True)],
    ).run(timeout=60)
    assert served.returncode == 0, served.stdout
    assert "token-7f3a" in served.stdout


def test_the_applets_are_upstreams_defconfig_each_a_hard_link_in_bin(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    bb = image("busybox")
    listed = _busybox(image, container, "busybox --list").run()
    assert listed.returncode == 0, listed.stdout
    applets = set(listed.stdout.split())
    assert set(USED_APPLETS) <= applets, sorted(set(USED_APPLETS) - applets)
    assert {"inotifyd", "ar"} <= applets  # the official image's additions to defconfig
    print(f"busybox --list: {len(applets)} applets")
    binary = (bb.rootfs / "bin" / "busybox").stat()
    for applet in applets:
        link = (bb.rootfs / "bin" / applet).stat()
        assert (link.st_ino, link.st_dev) == (binary.st_ino, binary.st_dev), applet
    banner = _busybox(image, container, "busybox | head -n 1").run()
    assert banner.stdout.startswith("BusyBox v1.37.0 ("), banner.stdout


def test_the_layout_is_the_official_glibc_variants(
    image: Callable[[str], Image], container: Callable[..., Container]
) -> None:
    bb = image("busybox")
    assert bb.command(None) == ["sh"]
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in bb.env()
    etc = bb.rootfs / "etc"
    assert "nobody:x:65534:65534" in (etc / "passwd").read_text()
    assert (etc / "shadow").read_text().startswith("root:*:")  # no empty root password
    assert (etc / "shadow").stat().st_mode & 0o777 == 0o600
    assert "hosts:          files dns" in (etc / "nsswitch.conf").read_text()
    for library in ("libc.so.6", "ld-linux-x86-64.so.2", "libnss_files.so.2", "libresolv.so.2"):
        assert (bb.rootfs / "lib" / library).is_file(), library
    assert (bb.rootfs / "lib64").readlink() == Path("lib")
    assert not (bb.rootfs / "usr/lib").exists()
    run = _busybox(
        image, container, "date +%Z; getconf _NPROCESSORS_ONLN; id; /usr/bin/env true && echo env"
    ).run()
    assert run.returncode == 0, run.stdout
    zone, cpus, ident, env = run.stdout.split("\n")[:4]
    assert zone == "UTC" and int(cpus) >= 1 and env == "env"
    # names from /etc/passwd and /etc/group, through glibc's libnss_files
    assert ident.startswith("uid=65534(nobody) gid=65534(nogroup)"), ident
