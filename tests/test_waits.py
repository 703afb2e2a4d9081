"""Every wait has a limit (issue 12 item 3, docs/delivery.md#every-wait-has-a-limit), end to end on
a real `motia-core serve`:

* API handlers get `--api-timeout` unless the step sets `infrastructure.handler.timeout` (504);
* a client that disconnects cancels its invocation and frees its runner slot;
* a runner that stops answering (SIGSTOP, a `while(true){}`) is found by the heartbeat, killed and
  replaced; its API calls get 503 and its events are redelivered, not dead-lettered;
* SIGTERM ends the core within `--shutdown-timeout` whatever the runners do, leaves no runner
  process, and events still queued are delivered after the next start.

Bounds are generous upper limits (the machine is noisy), never measurements.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CoreProcess, pid_alive


def _call(url: str, timeout: float = 30) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _emit(core: CoreProcess, topic: str, data: dict[str, Any]) -> None:
    body = json.dumps({"topic": topic, "data": data}).encode()
    req = urllib.request.Request(f"{core.url}/emit", body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def _until(check: Callable[[], Any], timeout: float, what: str, core: CoreProcess | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {timeout:g}s" + ("\n" + core.output() if core else ""))


def _in_flight(core: CoreProcess, runtime: str) -> int:
    _, doc = _call(f"{core.url}/__motia/runners", 5)
    return int(next(r["inFlight"] for r in doc["runners"] if r["runtime"] == runtime))


def _dead_letters(core: CoreProcess) -> list[Any]:
    _, doc = _call(f"{core.url}/__motia/dlq", 5)
    letters: list[Any] = doc["deadLetters"]
    return letters


def _in_thread(fn: Callable[[], Any]) -> dict[str, Any]:
    """Run fn in a thread; the dict gets "result" (or "error") and "seconds" when it returns."""
    box: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            box["result"] = fn()
        except Exception as exc:
            box["error"] = exc
        box["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    box["thread"] = thread
    return box


# -- API handler timeout ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["py", "ts"])
def test_an_api_handler_past_the_api_timeout_gets_504_and_is_cancelled(
    start_core: Callable[..., CoreProcess], lang: str
) -> None:
    core = start_core("waits_api", "--api-timeout", "0.5")
    runtime = {"py": "python", "ts": "node"}[lang]
    pid = core.runner_pids()[runtime]
    started = time.monotonic()
    status, body = _call(f"{core.url}/{lang}/hang")
    assert status == 504, body
    assert body["error"] == "Gateway timeout"
    assert body["message"].startswith(f"{lang.capitalize()}Hang did not finish within its timeout of 0.5s")
    assert time.monotonic() - started < 10
    # cancelled through Cancel/Cancelled: the slot comes back and the runner was not restarted for it
    _until(lambda: _in_flight(core, runtime) == 0, 10, "the slot freed", core)
    assert core.runner_pids()[runtime] == pid
    assert _call(f"{core.url}/{lang}/ping") == (200, {"ok": True})


@pytest.mark.parametrize("lang", ["py", "ts"])
def test_a_step_handler_timeout_overrides_the_api_timeout(start_core: Callable[..., CoreProcess], lang: str) -> None:
    core = start_core("waits_api", "--api-timeout", "0.5")
    # sleeps 1.5 s, three times --api-timeout, within its own 5 s
    assert _call(f"{core.url}/{lang}/patient") == (200, {"patient": True})


# -- client disconnects -------------------------------------------------------------------------------


def _abandon(core: CoreProcess, path: str, after: float) -> None:
    with socket.create_connection(("127.0.0.1", core.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{core.port}\r\n\r\n".encode())
        time.sleep(after)


@pytest.mark.chaos
@pytest.mark.parametrize("lang", ["py", "ts"])
def test_abandoned_calls_free_their_slots(start_core: Callable[..., CoreProcess], lang: str) -> None:
    # without the cancel, 8 hanging calls would hold all 4 slots for the 60 s api timeout
    core = start_core("waits_api", "--runner-slots", "4", "--api-timeout", "60", "--admission-timeout", "20")
    runtime = {"py": "python", "ts": "node"}[lang]
    pid = core.runner_pids()[runtime]
    clients = [_in_thread(lambda: _abandon(core, f"/{lang}/hang", 0.3)) for _ in range(8)]
    for client in clients:
        client["thread"].join(10)
        assert "error" not in client, client
    started = time.monotonic()
    assert _call(f"{core.url}/{lang}/ping") == (200, {"ok": True})
    assert time.monotonic() - started < 10  # well under the 20 s admission timeout
    _until(lambda: _in_flight(core, runtime) == 0, 10, "every slot freed", core)
    assert core.runner_pids()[runtime] == pid  # the runner confirmed each Cancel; nothing was killed


# -- runner liveness ----------------------------------------------------------------------------------

HEARTBEAT = {"MOTIA_HEARTBEAT_TIMEOUT": "2"}  # seconds of silence before a runner is declared dead


def _replaced(core: CoreProcess, old_pid: int) -> int:
    def new_pid() -> int | None:
        pid = core.runner_pids().get("node")
        return pid if pid and pid != old_pid else None

    pid: int = _until(new_pid, 20, "a new node runner", core)
    _until(lambda: not pid_alive(old_pid), 10, f"the old runner (pid {old_pid}) gone", core)
    assert _call(f"{core.url}/ts/ping") == (200, {"ok": True})
    core.wait_for_log(lambda d: "stopped answering pings" in d.get("msg", "") and "killed and replaced" in d["msg"])
    return pid


@pytest.mark.chaos
@pytest.mark.timeout(90)
def test_a_sigstopped_runner_is_detected_killed_and_replaced(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("waits_api", env=HEARTBEAT)
    old = core.runner_pids()["node"]
    marks = core.project / "marks"
    _emit(core, "waits.slow", {"n": 1})
    _until(lambda: (marks / f"started-{old}").exists(), 20, "the event handler started", core)
    call = _in_thread(lambda: _call(f"{core.url}/ts/patient"))
    time.sleep(0.2)  # let the call reach the runner before it freezes
    os.kill(old, signal.SIGSTOP)
    try:
        call["thread"].join(20)
        status, body = call["result"]
        assert status == 503, body
        assert call["seconds"] < 15  # heartbeat timeout 2 s + interval + kill; never the 30 s api timeout
        _replaced(core, old)
        # the event the frozen runner held is delivered again by its replacement, not dead-lettered
        _until(lambda: (marks / "done-1").exists(), 30, "the event redelivered and finished", core)
        assert (marks / "done-1").read_text() != str(old)
        assert _dead_letters(core) == []
    finally:
        if pid_alive(old):
            os.kill(old, signal.SIGKILL)


@pytest.mark.chaos
@pytest.mark.timeout(90)
def test_a_runner_blocked_by_a_busy_loop_is_replaced(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("waits_api", env=HEARTBEAT)
    old = core.runner_pids()["node"]
    status, body = _call(f"{core.url}/ts/busy")
    assert status == 503, body
    assert "stopped answering pings" in body["message"]
    _replaced(core, old)


# -- shutdown -------------------------------------------------------------------------------------------


@pytest.mark.chaos
@pytest.mark.timeout(90)
def test_sigterm_ends_the_core_in_time_whatever_the_runners_do(start_core: Callable[..., CoreProcess]) -> None:
    # a Python runner that ignores SIGTERM with its loop blocked (never reads Shutdown), and a Node
    # runner with a handler that never finishes, SIGSTOPped on top
    core = start_core("waits_shutdown", "--shutdown-timeout", "4", env={"MOTIA_HEARTBEAT_TIMEOUT": "120"})
    pids = core.runner_pids()
    calls = [_in_thread(lambda p=p: _call(f"{core.url}{p}", 60)) for p in ("/py/stuck", "/ts/hang")]
    _until(lambda: (core.project / "stuck-started").exists(), 20, "the stuck handler", core)
    _until(lambda: (core.project / "hang-started").exists(), 20, "the hanging handler", core)
    os.kill(pids["node"], signal.SIGSTOP)
    started = time.monotonic()
    core.proc.send_signal(signal.SIGTERM)
    code = core.proc.wait(30)
    seconds = time.monotonic() - started
    assert seconds < 4 + 3, f"stopping took {seconds:.1f}s\n{core.output()}"
    assert code == 0, core.output()
    for runtime, pid in pids.items():
        _until(lambda pid=pid: not pid_alive(pid), 5, f"the {runtime} runner (pid {pid}) dead")
    for call in calls:
        call["thread"].join(10)


@pytest.mark.chaos
@pytest.mark.timeout(120)
def test_events_queued_at_sigterm_are_delivered_after_a_restart(
    start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    # maxRetries 0: an attempt counted by the shutdown would dead-letter the event at once
    core = start_core("waits_queue", "--shutdown-timeout", "3", env={"WAITS_SLOW": "1"})
    for n in range(30):
        _emit(core, "waits.work", {"n": n})
    _until(lambda: _in_flight(core, "python") == 2, 20, "the two slow handlers in flight", core)
    core.proc.send_signal(signal.SIGTERM)
    assert core.proc.wait(30) == 0, core.output()
    done = tmp_path / "waits_queue" / "done"
    assert not done.exists() or len(list(done.iterdir())) < 30

    again = start_core("waits_queue")
    _until(lambda: done.exists() and len(list(done.iterdir())) == 30, 60, "all 30 events delivered", again)
    assert _dead_letters(again) == []


# -- the retry accounting of runner failures (in-process: EventBus over MemoryQueue) -------------------


async def test_runner_losses_give_the_attempt_back_a_few_times_then_count(tmp_path: Path) -> None:
    from motia_core.dispatch import InvokeRequest
    from motia_core.errors import RunnerLost
    from motia_core.events import FREE_RUNNER_LOSSES, EventBus
    from motia_core.queue.memory import MemoryQueue
    from motia_core.runners.transport import Outcome
    from tests.test_events import World, event

    attempts: list[int] = []

    async def lost(req: InvokeRequest) -> Outcome:
        attempts.append(req.attempt)
        raise RunnerLost("the node runner went away: test")

    async def unused(payload: bytes, ctx: Any) -> None:
        return None

    config = event("Doomed", ["t"], infrastructure={"queue": {"maxRetries": 1}})
    world = World(tmp_path, {"d_step.py": config}, {"d_step.py": unused})
    world.registry.add_manifest(world.files, await world.session.load_steps(world.files, 1))
    queue = world.queue = MemoryQueue()
    bus = EventBus(world.registry, queue, lost, world.logger, retry_base_delay=0.01)
    await queue.start()
    await bus.emit("t", b"{}", "TR")
    deadline = time.monotonic() + 10
    while not await queue.dead_letters():
        assert time.monotonic() < deadline, attempts
        await asyncio.sleep(0.01)
    # the first FREE_RUNNER_LOSSES losses give attempt 1 back; then losses count: 1 try + 1 retry
    assert attempts == [1] * (FREE_RUNNER_LOSSES + 1) + [2]
    letter = (await queue.dead_letters())[0]
    assert letter.attempts == 2
    assert all(f["kind"] == "runner_lost" for f in letter.failures)
    await world.close()


async def test_a_stopping_bus_releases_events_without_counting_them(tmp_path: Path) -> None:
    from motia_core.dispatch import InvokeRequest
    from motia_core.events import EventBus
    from motia_core.queue.memory import MemoryQueue
    from motia_core.runners.transport import Failure, FailureKind, Outcome
    from tests.test_events import World, event

    attempts: list[int] = []

    async def refused(req: InvokeRequest) -> Outcome:
        attempts.append(req.attempt)
        return Outcome(failure=Failure(FailureKind.SHUTTING_DOWN, "ShuttingDown", "the runner is shutting down"))

    async def unused(payload: bytes, ctx: Any) -> None:
        return None

    config = event("Later", ["t"], infrastructure={"queue": {"maxRetries": 0}})
    world = World(tmp_path, {"l_step.py": config}, {"l_step.py": unused})
    world.registry.add_manifest(world.files, await world.session.load_steps(world.files, 1))
    queue = world.queue = MemoryQueue()
    bus = EventBus(world.registry, queue, refused, world.logger, retry_base_delay=0.01)
    await queue.start()
    await bus.emit("t", b"{}", "TR")
    deadline = time.monotonic() + 5
    while len(attempts) < 2:  # refused by a draining runner: back in the queue, attempt 1 again
        assert time.monotonic() < deadline, attempts
        await asyncio.sleep(0.01)
    bus.stopping = True
    assert await bus.idle(5)
    assert set(attempts) == {1}
    assert await queue.dead_letters() == []
    await world.close()
