"""The test kits step authors use in their CI (docs/testing.md), run the way a project runs them.

tests/fixtures/tk_app is a small mixed TS/Python project with its own tests: node's test runner over
`motia/testing` (createTester unit tests, startMotia end to end) and pytest with motia's plugin
(StepTestEnvironment unit test, motia_app end to end). Each test copies it, links `node_modules/motia`
to sdk-node (what `npm i motia@file:<repo>/sdk-node` does) and runs those tests in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from motia.testing import MotiaApp, MotiaAppError
from tests.conftest import ROOT, copy_fixture, pid_alive

SDK_NODE = ROOT / "sdk-node"
TSX = SDK_NODE / "node_modules" / "tsx"
MOTIA_CORE_BIN = Path(sys.executable).parent / "motia-core"


def _project(tmp_path: Path) -> Path:
    project = copy_fixture("tk_app", tmp_path)
    modules = project / "node_modules"
    modules.mkdir()
    (modules / "motia").symlink_to(SDK_NODE, target_is_directory=True)
    (modules / "tsx").symlink_to(TSX, target_is_directory=True)
    (modules / "@types").symlink_to(SDK_NODE / "node_modules" / "@types", target_is_directory=True)
    return project


def _run(
    cmd: list[str], project: Path, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=project,
        env={**os.environ, "MOTIA_CORE_BIN": str(MOTIA_CORE_BIN), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _node_test(project: Path, folder: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p.relative_to(project)) for p in (project / "tests" / folder).glob("*.test.ts"))
    assert files, f"no *.test.ts under tests/{folder}"
    return _run(["node", "--import", "tsx", "--test", *files], project, 150, env)


def _assert_gone(pids: dict[str, int], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids.values()):
        time.sleep(0.1)
    alive = {name: pid for name, pid in pids.items() if pid_alive(pid)}
    assert not alive, f"still running after the test run: {alive}"


@pytest.mark.timeout(120)
def test_ts_unit_kit_runs_handlers_with_a_real_context(tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = _node_test(project, "unit")
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "# pass 6" in report and "# fail 0" in report, report


@pytest.mark.timeout(120)
def test_ts_kit_type_checks_in_a_project_under_tsc_strict(tmp_path: Path) -> None:
    # tsconfig "moduleResolution": "node" ignores package exports: `motia/testing` resolves through
    # sdk-node's typesVersions; the steps, the tests and the kit's own sources are checked together.
    project = _project(tmp_path)
    done = _run([str(SDK_NODE / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json"], project, 110)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.timeout(180)
def test_ts_start_motia_runs_the_real_core_and_stops_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    pids_file = tmp_path / "pids.json"
    done = _node_test(project, "e2e", {"TK_PIDS_FILE": str(pids_file)})
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "# pass 2" in report and "# fail 0" in report, report
    pids = json.loads(pids_file.read_text())
    assert set(pids) == {"core", "node", "python"}
    _assert_gone(pids)


@pytest.mark.timeout(120)
def test_ts_exit_without_stop_leaves_no_orphans(tmp_path: Path) -> None:
    project = _project(tmp_path)
    pids_file = tmp_path / "pids.json"
    done = _run(
        ["node", "--import", "tsx", "tests/e2e/exit-without-stop.ts"], project, 100, {"TK_PIDS_FILE": str(pids_file)}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pids = json.loads(pids_file.read_text())
    assert set(pids) == {"core", "node", "python"}
    _assert_gone(pids)


def test_the_pytest_plugin_is_registered_by_the_distribution() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("motia") == "motia.pytest_plugin"


@pytest.mark.timeout(180)
def test_pytest_plugin_motia_app_end_to_end_and_no_orphans(tmp_path: Path) -> None:
    project = _project(tmp_path)
    pids_file = tmp_path / "pids.json"
    done = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, 170, {"TK_PIDS_FILE": str(pids_file)}
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "5 passed" in report, report
    pids = json.loads(pids_file.read_text())
    assert set(pids) == {"core", "node", "python"}
    _assert_gone(pids, timeout=5)  # the fixture waited for the core, which stops its runners first


@pytest.mark.chaos
@pytest.mark.timeout(120)
def test_a_killed_test_process_does_not_leave_the_core_running(tmp_path: Path) -> None:
    project = _project(tmp_path)
    pids_file = tmp_path / "pids.json"
    inner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/hang_e2e.py"],
        cwd=project,
        env={**os.environ, "MOTIA_CORE_BIN": str(MOTIA_CORE_BIN), "TK_PIDS_FILE": str(pids_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pids_file.exists() and pids_file.stat().st_size) and time.monotonic() < deadline:
            assert inner.poll() is None, "the inner pytest ended before its core was up"
            time.sleep(0.1)
        pids = json.loads(pids_file.read_text())
        assert all(pid_alive(p) for p in pids.values())
        inner.send_signal(signal.SIGKILL)  # no fixture teardown, no atexit
        inner.wait(10)
        _assert_gone(pids)
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait(10)


def test_motia_app_start_failures_say_why(tmp_path: Path) -> None:
    with pytest.raises(MotiaAppError, match=r"motia project directory .*nowhere does not exist"):
        MotiaApp.start(tmp_path / "nowhere")
    project = copy_fixture("tk_app", tmp_path)
    with pytest.raises(MotiaAppError, match=r"exited with 2 before it listened") as info:
        MotiaApp.start(project, args=["--no-such-flag"])
    assert "motia-core output" in str(info.value)
    assert "--no-such-flag" in str(info.value)  # the core's own complaint is in the message
