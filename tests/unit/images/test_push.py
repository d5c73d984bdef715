"""`charthouse images push` never starts a second registry on the storage the
running cluster's registry serves: without --registry it pushes to that one, and
pushed there (either way) the node pulls again each tag it holds under an older
image. A cluster directory of our own: its registry and containerd are live
processes recorded as the cluster records them, crictl a fake that logs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from charthouse.cluster.processes import Component
from charthouse.cluster.providers.embedded import nodeimages
from charthouse.commands import images as command
from charthouse.images import BuiltImage
from charthouse.images.registry import Client

BUSYBOX = "docker.io/library/busybox:1.37.0"
PAUSE = "registry.k8s.io/pause:3.10.2"
COREDNS = "registry.k8s.io/coredns/coredns:v1.15.0"
FAKE_CRICTL = """#!{python}
import json, pathlib, sys
here = pathlib.Path(sys.argv[0]).parent
with (here / "crictl.log").open("a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[-3:] == ["images", "-o", "json"]:
    print((here / "held.json").read_text())
"""


@dataclass
class Cluster:
    dir: Path
    registry_port: int
    pushed_to: list[str]

    @property
    def crictl_calls(self) -> list[str]:
        log = self.dir / "node" / "bin" / "crictl.log"
        return log.read_text().splitlines() if log.exists() else []

    def component(self, name: str) -> Component:
        return Component(name, self.dir / "run", self.dir / "logs")


def _image(ref: str, image_id: str) -> BuiltImage:
    return BuiltImage(ref.rpartition("/")[2], ref, ref, "sha256:d", image_id, stand_in=False)


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    directory = tmp_path / "cluster"
    monkeypatch.setenv("CHARTHOUSE_CLUSTER_DIR", str(directory))
    state = {"provider": "embedded", "nodes": "real", "running": True, "ports": {"registry": 5123}}
    directory.mkdir()
    (directory / "state.json").write_text(json.dumps(state))
    bin_dir = directory / "node" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "crictl").write_text(FAKE_CRICTL.format(python=sys.executable))
    (bin_dir / "crictl").chmod(0o755)
    held = [
        {"id": "sha256:old-busybox", "repoTags": [BUSYBOX]},
        {"id": "sha256:pause", "repoTags": [PAUSE]},
    ]
    (bin_dir / "held.json").write_text(json.dumps({"images": held}))
    socket = directory / "node" / "containerd" / "containerd.sock"
    socket.parent.mkdir(parents=True)
    socket.touch()
    made = Cluster(directory, 5123, [])

    def ensure(address: str, names: list[str]) -> list[BuiltImage]:
        made.pushed_to.append(address)
        return [
            _image(BUSYBOX, "sha256:new-busybox"),
            _image(PAUSE, "sha256:pause"),
            _image(COREDNS, "sha256:coredns"),
        ]

    monkeypatch.setattr("charthouse.images.ensure", ensure)
    for name in ("registry", "containerd"):
        made.component(name).start(["sleep", "60"])
    yield made
    for name in ("registry", "containerd"):
        made.component(name).stop()


def _push(registry: str | None = None) -> None:
    command._push(argparse.Namespace(registry=registry, names=["busybox"]))


@contextmanager
def _standalone(started: list[str]) -> Iterator[Client]:
    started.append("standalone")
    yield Client("127.0.0.1:5999")


def _no_standalone(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("a second registry started on the cluster registry's storage")


def test_without_registry_it_pushes_to_the_clusters_and_the_node_pulls_rebuilt_tags(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("charthouse.images.registry.running", _no_standalone)
    _push()
    assert cluster.pushed_to == ["127.0.0.1:5123"]
    assert "pushing to the running cluster's registry at 127.0.0.1:5123" in capsys.readouterr().err
    pulls = [call for call in cluster.crictl_calls if " pull " in f" {call} "]
    assert [call.rpartition(" ")[2] for call in pulls] == [BUSYBOX]  # pause is current, coredns new


def test_the_clusters_address_given_as_registry_refreshes_the_node_too(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("charthouse.images.registry.running", _no_standalone)
    _push("http://127.0.0.1:5123")
    assert cluster.pushed_to == ["127.0.0.1:5123"]
    assert any(call.endswith(f"pull {BUSYBOX}") for call in cluster.crictl_calls)


def test_another_registry_is_pushed_to_and_the_node_left_alone(cluster: Cluster) -> None:
    _push("127.0.0.1:5000")
    assert cluster.pushed_to == ["127.0.0.1:5000"]
    assert cluster.crictl_calls == []


def test_with_the_clusters_registry_stopped_one_is_started_for_the_push(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.component("registry").stop()  # state.json still says running: a crashed cluster
    started: list[str] = []
    monkeypatch.setattr("charthouse.images.registry.running", lambda *a, **k: _standalone(started))
    _push()
    assert started == ["standalone"] and cluster.pushed_to == ["127.0.0.1:5999"]
    assert cluster.crictl_calls == []


def test_only_tags_the_node_holds_under_another_image_are_stale() -> None:
    held = {BUSYBOX: "sha256:old", PAUSE: "sha256:p"}
    wanted = {BUSYBOX: "sha256:new", PAUSE: "sha256:p", COREDNS: "sha256:c"}
    assert nodeimages.stale(held, wanted) == [BUSYBOX]
    assert nodeimages.stale({}, wanted) == []
