"""Handler timeouts (cancel, then kill if the runner cannot stop it) and SIGTERM drains, end to end,
for each runner with the same behaviour: tests/fixtures/timeouts (Python) and
tests/fixtures/ruby_timeouts (Ruby; a blocked handler is interrupted where it sleeps, one that
computes without looking at ``context.cancelled?`` gets the runner restarted). Node's cancel is
tested in tests/test_node_runner_cancel.py. No duration is asserted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import CoreProcess, pid_alive

pytestmark = pytest.mark.chaos

# (fixture project, runtime): the same steps, written in each language.
RUNTIMES = [
    pytest.param("timeouts", "python", id="python"),
    pytest.param(
        "ruby_timeouts",
        "ruby",
        id="ruby",
        marks=pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed (apt-get install ruby)"),
    ),
]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _emit(core: CoreProcess, topic: str, data: dict[str, Any]) -> None:
    body = json.dumps({"topic": topic, "data": data}).encode()
    req = urllib.request.Request(f"{core.url}/emit", body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def _dead_letters(core: CoreProcess, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        letters: list[dict[str, Any]] = _get(f"{core.url}/__motia/dlq")["deadLetters"]
        if len(letters) >= count:
            return [_get(f"{core.url}/__motia/dlq/{d['id']}") for d in letters]
        time.sleep(0.1)
    raise AssertionError("no dead letter in time:\n" + core.output())


@pytest.mark.parametrize(("fixture", "runtime"), RUNTIMES)
def test_a_handler_past_its_timeout_is_cancelled_and_fails_with_timeout(
    start_core: Callable[..., CoreProcess], fixture: str, runtime: str
) -> None:
    core = start_core(fixture)
    pid = core.runner_pids()[runtime]
    _emit(core, "hang", {})
    [letter] = _dead_letters(core, 1)
    [failure] = letter["failures"]
    assert failure["kind"] == "timeout"
    assert "did not finish within its timeout of 1s" in failure["message"]
    if runtime == "ruby":
        stopped = core.wait_for_log(lambda d: d.get("msg") == "hang stopped")
        # its `ensure` ran: the sleep was interrupted
        assert (stopped["cancelled"], stopped["reason"]) == (True, "timeout")
    state = {i["key"]: i["value"] for i in _get(f"{core.url}/__motia/state?groupId=hang")["items"]}
    assert state == {"started": True}  # cancelled: the line after the sleep never ran
    time.sleep(0.5)
    assert core.runner_pids()[runtime] == pid  # the runner confirmed the cancel: no restart
    assert not core.find_logs(lambda d: "did not stop invocation" in d.get("msg", ""))
    assert _get(f"{core.url}/ping") == {"ok": True}


@pytest.mark.parametrize(("fixture", "runtime"), RUNTIMES)
def test_a_handler_the_runner_cannot_stop_gets_the_runner_restarted(
    start_core: Callable[..., CoreProcess], fixture: str, runtime: str
) -> None:
    core = start_core(fixture, env={"MOTIA_CANCEL_GRACE": "1"})
    pid = core.runner_pids()[runtime]
    _emit(core, "stubborn", {})
    [letter] = _dead_letters(core, 1)
    assert letter["failures"][0]["kind"] == "timeout"
    core.wait_for_log(lambda d: "did not stop invocation" in d.get("msg", ""))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and core.runner_pids().get(runtime) in (pid, None):
        time.sleep(0.1)
    assert core.runner_pids()[runtime] != pid
    assert _get(f"{core.url}/ping") == {"ok": True}


@pytest.mark.parametrize(("fixture", "runtime"), RUNTIMES)
def test_sigterm_drains_a_runner_without_redelivery(
    start_core: Callable[..., CoreProcess], fixture: str, runtime: str
) -> None:
    core = start_core(fixture)
    old = core.runner_pids()[runtime]
    for n in range(3):
        _emit(core, "drain", {"n": n})
    deadline = time.monotonic() + 10
    while len(core.find_logs(lambda d: d.get("msg") == "drain started")) < 3:
        assert time.monotonic() < deadline, core.output()
        time.sleep(0.05)
    os.kill(old, signal.SIGTERM)
    core.wait_for_log(lambda d: "is draining" in d.get("msg", ""))
    line = core.wait_for_log(lambda d: f"drained {runtime} runner" in d.get("msg", ""), timeout=20)
    assert "exited with code 0" in line["msg"]
    done = {i["key"] for i in _get(f"{core.url}/__motia/state?groupId=drain-done")["items"]}
    runs = _get(f"{core.url}/__motia/state?groupId=drain-runs")["items"]
    assert done == {"0", "1", "2"}
    assert len(runs) == 3  # each event ran exactly once: nothing was redelivered
    new = core.runner_pids()[runtime]
    assert new != old and not pid_alive(old)
    assert _get(f"{core.url}/ping") == {"ok": True}
