"""``charthouse images kind-load``: with fake ``docker`` and ``kind`` on PATH (no
Docker engine here). Nothing to load runs neither; otherwise the catalog's
kindLoad images are built with docker (bases included) and every reference of
them, extra tags too, is loaded into the named cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse import cli, paths
from charthouse.errors import CharthouseError
from charthouse.images import kind
from unit.images import fake_docker
from unit.images.image_support import write_catalog


@pytest.fixture
def fakes(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fake docker and kind first on PATH, and a private tool cache, so finding
    kind on PATH records nothing in the shared one."""
    log = tmp_path / "calls.log"
    for key, value in fake_docker.install(tmp_path / "bin", log, tmp_path / "store.json").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CHARTHOUSE_IGNORE_PATH_TOOLS", raising=False)
    monkeypatch.setattr(paths, "CACHE_HOME", home)
    monkeypatch.setattr(paths, "BIN_DIR", home / "bin")
    return log


def test_with_no_kind_image_nothing_is_built_or_loaded(
    tmp_path: Path, fakes: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalog whose every image kind pulls from its upstream registry."""
    cat = write_catalog(tmp_path)
    monkeypatch.setattr(kind, "load_catalog", lambda: cat)
    assert cli.main(["images", "kind-load", "--name", "ci"]) == 0
    assert "nothing to load" in capsys.readouterr().out
    assert fake_docker.calls(fakes) == []


def test_the_example_api_is_built_by_docker_from_its_dockerfile_and_loaded(
    fakes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The repo catalog: docker pulls golang and runs the Dockerfile's build stage
    itself (no build context replaces it), then kind gets the image."""
    assert cli.main(["images", "kind-load", "--name", "ci"]) == 0
    assert "loaded ghcr.io/charthouse/example-api:0.1.0 into kind cluster ci" in (
        capsys.readouterr().out
    )
    calls = fake_docker.calls(fakes)
    (build,) = [c for c in calls if c[:2] == ["docker", "build"]]
    assert build[build.index("--tag") + 1] == "ghcr.io/charthouse/example-api:0.1.0"
    assert not [a for a in build if a.startswith("--build-context")]
    assert build[-1].endswith("example-api." + build[-1].rsplit(".", 1)[-1])
    assert calls[-1] == [
        "kind",
        "load",
        "docker-image",
        "ghcr.io/charthouse/example-api:0.1.0",
        "--name",
        "ci",
    ]


def test_kind_images_are_built_with_docker_and_loaded_under_every_tag(
    tmp_path: Path, fakes: Path
) -> None:
    cat = write_catalog(
        tmp_path,
        base_extra="    alsoTagged: [v0]\n",
        app_extra="    kindLoad: true\n    alsoTagged: ['2']\n",
    )
    loaded = kind.load("ci", catalog=cat)
    assert loaded == ["docker.io/library/app:1", "docker.io/library/app:2"]
    calls = fake_docker.calls(fakes)
    built = [c[c.index("--tag") + 1] for c in calls if c[:2] == ["docker", "build"]]
    assert built == ["docker.io/library/base:1", "docker.io/library/app:1"], "bases first"
    assert calls[-1] == ["kind", "load", "docker-image", *loaded, "--name", "ci"]
    # the fake kind refuses references docker does not hold: both tags were there

    count = len(calls)
    assert kind.load("ci", catalog=cat) == loaded
    again = fake_docker.calls(fakes)[count:]
    assert not [c for c in again if c[:2] == ["docker", "build"]], "built once"
    assert again[-1][:3] == ["kind", "load", "docker-image"], "loaded again: a new cluster"


def test_a_failing_kind_load_is_an_error_naming_the_command(
    tmp_path: Path, fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cat = write_catalog(tmp_path, app_extra="    kindLoad: true\n")
    monkeypatch.setenv("FAKE_KIND_FAIL", "1")
    with pytest.raises(CharthouseError, match=r"kind load docker-image .* --name ci\n.*no nodes"):
        kind.load("ci", catalog=cat)
