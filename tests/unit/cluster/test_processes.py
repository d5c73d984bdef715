"""Detached component processes: recorded, found again, stopped, crashes reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from charthouse.cluster.processes import (
    Component,
    ComponentCrashedError,
    free_port,
    port_open,
    wait_for,
)


@pytest.fixture
def component(tmp_path: Path) -> Component:
    return Component("worker", tmp_path / "run", tmp_path / "logs")


def test_start_find_and_stop(component: Component) -> None:
    proc = component.start(["sleep", "60"])
    assert component.pid() == proc.pid
    component.stop()
    assert proc.poll() is not None
    assert component.pid() is None and not component.recorded()


def test_a_reused_pid_is_not_mistaken_for_the_component(component: Component) -> None:
    proc = component.start(["sleep", "60"])
    pid, started = component.pidfile.read_text().split()
    component.pidfile.write_text(f"{pid} {int(started) + 1}\n")  # same pid, other process
    assert component.pid() is None
    component.pidfile.write_text(f"{pid} {started}\n")
    component.stop()
    assert proc.poll() is not None


def test_stop_escalates_to_sigkill(component: Component) -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    proc = component.start([sys.executable, "-c", stubborn])
    wait_for("the child to ignore SIGTERM", lambda: "up" in component.log.read_text(), timeout=10)
    component.stop(timeout=0.5)
    assert proc.poll() is not None


def test_crash_names_the_component_and_shows_its_log(component: Component) -> None:
    proc = component.start(["sh", "-c", "echo 'fatal: port already in use' >&2; exit 7"])
    with pytest.raises(ComponentCrashedError) as crash:
        wait_for("never", lambda: False, timeout=10, watch=[(component, proc)])
    message = str(crash.value)
    assert message.startswith("worker exited with status 7")
    assert "fatal: port already in use" in message


def test_timeout_lists_the_watched_components(component: Component) -> None:
    proc = component.start(["sleep", "60"])
    try:
        with pytest.raises(
            Exception, match=r"timed out after 0s waiting for readiness \(components: worker\)"
        ):
            wait_for("readiness", lambda: False, timeout=0.2, watch=[(component, proc)])
    finally:
        component.stop()


def test_previous_log_is_kept(component: Component) -> None:
    component.start(["sh", "-c", "echo first"]).wait()
    component.stop()
    component.start(["sh", "-c", "echo second"]).wait()
    assert component.log.with_suffix(".log.1").read_text() == "first\n"


def test_free_port_is_free() -> None:
    assert not port_open(free_port())
