"""Run a built image as a container with runc, without a node: the image's root
filesystem comes from the buildah store, and the container gets what a
restricted pod would (read-only root filesystem, no capabilities, no new
privileges, the chart's writable volumes) and either the host's loopback or a
private network namespace. Every port is on 127.0.0.1 or inside that namespace.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from charthouse.images.backends import KEEP_PREFIX, Buildah

NO_CAPS: dict[str, list[str]] = {k: [] for k in ("bounding", "effective", "permitted", "ambient")}
# Docker's default capability set: what a container started as root usually has.
DOCKER_CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]


@dataclass(frozen=True)
class Mount:
    destination: str
    source: str = "tmpfs"
    type: str = "tmpfs"
    options: tuple[str, ...] = ("nosuid", "nodev", "mode=1777")

    def spec(self) -> dict[str, object]:
        return {
            "destination": self.destination,
            "type": self.type,
            "source": self.source,
            "options": list(self.options),
        }


def tmpfs(destination: str, mode: str = "1777") -> Mount:
    """An emptyDir."""
    return Mount(destination, options=("nosuid", "nodev", f"mode={mode}"))


def bind(destination: str, source: Path, *, readonly: bool = False) -> Mount:
    """A volume (PVC, Secret, ConfigMap) at ``destination``."""
    return Mount(destination, str(source), "bind", ("rbind", "ro" if readonly else "rw"))


@dataclass
class Image:
    """A built image's root filesystem (a buildah container of ours) and its config."""

    buildah: Buildah
    ref: str
    name: str
    rootfs: Path = field(init=False)
    config: Mapping[str, object] = field(init=False)

    def __post_init__(self) -> None:
        self.rootfs = self.buildah.mount(self.ref, KEEP_PREFIX + self.name)
        self.config = self.buildah.config(self.ref)

    def close(self) -> None:
        self.buildah.unmount(KEEP_PREFIX + self.name)

    def command(self, args: Sequence[str] | None) -> list[str]:
        """ENTRYPOINT + (args, or CMD), as a container runtime does."""
        entrypoint = list(self.config.get("Entrypoint") or [])  # type: ignore[call-overload]
        cmd = list(self.config.get("Cmd") or [])  # type: ignore[call-overload]
        return entrypoint + (list(args) if args is not None else cmd)

    def env(self) -> list[str]:
        return list(self.config.get("Env") or [])  # type: ignore[call-overload]

    def user(self) -> tuple[int, int]:
        """The image's USER as numbers, names looked up in its /etc/passwd and /etc/group."""
        user, _, group = str(self.config.get("User") or "0").partition(":")

        def lookup(file: str, name: str, column: int) -> int:
            if name.isdigit():
                return int(name)
            for line in (self.rootfs / "etc" / file).read_text().splitlines():
                fields = line.split(":")
                if fields[0] == name:
                    return int(fields[column])
            raise LookupError(f"{self.ref}: no {name!r} in /etc/{file}")

        uid = lookup("passwd", user, 2)
        gid = (
            lookup("group", group, 2)
            if group
            else (lookup("passwd", user, 3) if not user.isdigit() else uid)
        )
        return uid, gid


class Container:
    """One container of an image, run by runc with its own state directory."""

    def __init__(
        self,
        runc: Path,
        workdir: Path,
        image: Image,
        *,
        args: Sequence[str] | None = None,
        user: tuple[int, int] | None = None,
        groups: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        mounts: Sequence[Mount] = (),
        network: str | Path = "host",
        capabilities: Sequence[str] = (),
        hosts: str = "127.0.0.1 localhost\n::1 localhost\n",
    ) -> None:
        self.runc = runc
        self.image = image
        self.id = f"charthouse-test-{image.name}-{secrets.token_hex(3)}"
        self.bundle = workdir / self.id
        self.bundle.mkdir(parents=True)
        self.state = workdir / "runc-state"
        self.log = self.bundle / "output.log"
        self.user = user or image.user()
        self.process: subprocess.Popen[bytes] | None = None
        etc_hosts = self.bundle / "hosts"
        etc_hosts.write_text(hosts)
        resolv = self.bundle / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\noptions ndots:1\n")
        environment = image.env() + [f"{k}={v}" for k, v in (env or {}).items()]
        caps = {k: list(capabilities) for k in NO_CAPS} if capabilities else NO_CAPS
        if capabilities:
            caps["ambient"] = []
        namespaces: list[dict[str, str]] = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
        if network == "new":
            namespaces.append({"type": "network"})
        elif isinstance(network, Path):
            namespaces.append({"type": "network", "path": str(network)})
        sys_mount = (
            Mount("/sys", "/sys", "bind", ("rbind", "nosuid", "noexec", "nodev", "ro"))
            if network == "host"
            else Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro"))
        )
        config = {
            "ociVersion": "1.0.2",
            "process": {
                "terminal": False,
                "user": {"uid": self.user[0], "gid": self.user[1], "additionalGids": list(groups)},
                "args": image.command(args),
                "env": environment,
                "cwd": str(image.config.get("WorkingDir") or "/"),
                "capabilities": caps,
                "noNewPrivileges": True,
            },
            "root": {"path": str(image.rootfs), "readonly": True},
            "hostname": "charthouse-test",
            "mounts": [
                Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")).spec(),
                Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755")).spec(),
                Mount(
                    "/dev/pts",
                    "devpts",
                    "devpts",
                    ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"),
                ).spec(),
                Mount(
                    "/dev/shm", "shm", "tmpfs", ("nosuid", "noexec", "nodev", "mode=1777")
                ).spec(),
                Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")).spec(),
                sys_mount.spec(),
                bind("/etc/hosts", etc_hosts, readonly=True).spec(),
                bind("/etc/resolv.conf", resolv, readonly=True).spec(),
                *(m.spec() for m in mounts),
            ],
            "linux": {
                "namespaces": namespaces,
                "cgroupsPath": f"/{self.id}",
                "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"],
            },
        }
        (self.bundle / "config.json").write_text(json.dumps(config, indent=1))

    def _runc(self, *args: str) -> list[str]:
        return [str(self.runc), "--root", str(self.state), *args]

    def run(self, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run to completion (a one-shot command); output is stdout+stderr."""
        try:
            return subprocess.run(
                self._runc("run", "--bundle", str(self.bundle), self.id),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        finally:
            self._delete()

    def start(self) -> Container:
        """Start in the background; output goes to :attr:`log`."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self._runc("run", "--bundle", str(self.bundle), self.id),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pid(self) -> int:
        """The container's init process on the host (for its network namespace)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = subprocess.run(
                self._runc("state", self.id), capture_output=True, text=True, check=False
            )
            if state.returncode == 0 and json.loads(state.stdout).get("pid"):
                pid: int = json.loads(state.stdout)["pid"]
                return pid
            assert self.running(), f"{self.id} exited:\n{self.output()}"
            time.sleep(0.05)
        raise TimeoutError(f"{self.id}: no pid after 30s")

    @property
    def netns(self) -> Path:
        return Path(f"/proc/{self.pid()}/ns/net")

    def exec(
        self, *command: str, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` inside the running container, as its user."""
        flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
        return subprocess.run(
            self._runc("exec", f"--user={self.user[0]}:{self.user[1]}", *flags, self.id, *command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if not self.running():
                raise AssertionError(f"{self.id} exited before {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.id}: no {what} after {timeout:.0f}s:\n{self.output()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (SIGKILL after ``timeout``), then delete; the exit code if it ran."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            subprocess.run(self._runc("kill", self.id, "TERM"), capture_output=True, check=False)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                subprocess.run(
                    self._runc("kill", self.id, "KILL"), capture_output=True, check=False
                )
                self.process.wait(timeout=30)
        self._delete()
        return self.process.returncode

    def _delete(self) -> None:
        subprocess.run(self._runc("delete", "--force", self.id), capture_output=True, check=False)


@contextmanager
def started(container: Container) -> Iterator[Container]:
    """The container, running for the block and stopped after it."""
    container.start()
    try:
        yield container
    finally:
        container.stop()


def in_netns(netns: Path, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a host command inside a container's network namespace (its loopback only)."""
    return subprocess.run(
        ["nsenter", f"--net={netns}", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ},
    )
