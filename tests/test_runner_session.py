"""Runners share the core's session (one Linux autogroup) but lead process groups of their own.

Why it matters (docs/performance.md, "Robust to how it is started"): with a session of its own, each
runner was weighed by the scheduler against the core's whole session; when that session was busy on
another CPU (a shell script running the core and wrk), the Python runner preempted the core on every
frame and batching collapsed. Their own process group keeps a terminal's Ctrl-C on the core alone and
lets the supervisor kill a runner with everything it spawned (killpg).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CoreProcess, copy_fixture, free_port, pid_alive

LANGUAGES = {"node", "python", "ruby"}


def _runner_pids(url: str, timeout: float = 30.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    pids: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/__motia/runners", timeout=5) as resp:
                doc = json.loads(resp.read())
            pids = {r["runtime"]: r["pid"] for r in doc["runners"] if r["pid"]}
            if LANGUAGES <= set(pids):
                return pids
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"runners not all up within {timeout:g}s: {pids}")


def _assert_grouping(core_pid: int, runners: dict[str, int]) -> None:
    for language, pid in runners.items():
        assert os.getsid(pid) == os.getsid(core_pid), f"{language} runner {pid} left the core's session"
        assert os.getpgid(pid) == pid, f"{language} runner {pid} does not lead its own process group"
        assert os.getpgid(pid) != os.getpgid(core_pid), f"{language} runner shares the core's process group"


def test_runners_join_the_callers_session_in_groups_of_their_own(start_core) -> None:  # type: ignore[no-untyped-def]
    """The core started in the caller's session (here pytest's), as a plain shell script would."""
    core: CoreProcess = start_core("polyglot")
    assert os.getsid(core.proc.pid) == os.getsid(0)
    _assert_grouping(core.proc.pid, _runner_pids(core.url))


@pytest.mark.timeout(90)
def test_runners_follow_a_core_in_a_session_of_its_own(tmp_path: Path) -> None:
    """The core started with setsid (as `make bench` does): the runners follow it into that session."""
    project = copy_fixture("polyglot", tmp_path)
    port = free_port()
    argv = [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(port)]
    argv += ["--host", "127.0.0.1", "--log-level", "warn"]
    proc = subprocess.Popen(
        argv, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runners: dict[str, int] = {}
    try:
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
        runners = _runner_pids(f"http://127.0.0.1:{port}")
        _assert_grouping(proc.pid, runners)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in runners.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in runners.values() if pid_alive(pid)], "runners outlived the core's SIGTERM"
