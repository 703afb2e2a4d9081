"""The Ruby runner end to end.

* With the real core on tests/fixtures/ruby (Ruby API, event and cron steps, a Ruby step that
  raises, and a Python step in the same project): HTTP, events across languages in one trace,
  shared state, logs, concurrency, respawn after SIGKILL, no orphan after the core is SIGKILLed.
* Against a small in-test core: tests/test_ruby_wire.py and tests/test_ruby_wire_lifecycle.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import ROOT, CoreProcess, copy_fixture, pid_alive

RUBY = shutil.which("ruby")
RUNNER = ROOT / "runners" / "ruby" / "bin" / "motia-ruby-runner"

pytestmark = pytest.mark.skipif(RUBY is None, reason="ruby is not installed (apt-get install ruby ruby-grpc)")


# -- with the real core -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ruby_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """One core serving tests/fixtures/ruby, shared by the read-only HTTP tests."""
    project = copy_fixture("ruby", tmp_path_factory.mktemp("ruby"))
    core = CoreProcess(project, env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    core.wait_ready()
    yield core
    core.stop()


def _step_logs(core: CoreProcess, trace_id: str) -> list[dict[str, Any]]:
    return core.find_logs(lambda d: d.get("traceId") == trace_id and d.get("source") == "step")


async def test_api_reads_path_query_body_and_headers_by_hash_and_dot(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{ruby_core.url}/rb/echo/42?q=hello",
            json={"text": "hi there", "nested": {"deep": [1, 2]}},
            headers={"X-Agent": "pytest"},
        ) as resp:
            assert resp.status == 200, await resp.text()
            doc = await resp.json()
            assert resp.headers["x-rb-middleware"] == "yes"  # set by a Ruby middleware after next_fn
            trace_header = resp.headers["x-motia-trace-id"]
    assert doc == {
        "id": "42",
        "id_dot": "42",
        "q": "hello",
        "q_dot": "hello",
        "text": "hi there",
        "text_dot": "hi there",
        "nested": [1, 2],
        "agent": "pytest",
        "stamped": True,
        "context_stamp": "middleware",
        "traceId": trace_header,
        "same_trace": True,
        "flows": ["ruby-e2e"],
    }


async def test_log_lines_carry_step_trace_id_and_language(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{ruby_core.url}/rb/echo/7", json={"text": "log me"}) as resp:
            assert resp.status == 200
            trace_id = resp.headers["x-motia-trace-id"]
    line = ruby_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("msg") == "echo from ruby")
    assert line["step"] == "RbEcho"
    assert line["language"] == "ruby"
    assert line["source"] == "step"
    assert line["level"] == "info"
    assert line["id"] == "7"
    assert line["answer"] == 42


async def test_events_flow_ruby_to_python_to_ruby_in_one_trace_with_shared_state(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{ruby_core.url}/rb/chain", json={"text": "across"}) as resp:
            assert resp.status == 202, await resp.text()
            started = await resp.json()
        trace_id, key = started["traceId"], started["key"]
        deadline = time.monotonic() + 15
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            # a Ruby API step reading what the Python step (and then a Ruby event step) wrote
            async with session.get(f"{ruby_core.url}/rb/chain/{key}") as resp:
                assert resp.status == 200
                doc = await resp.json()
            if doc["record"].get("done"):
                break
            await asyncio.sleep(0.05)
        assert doc["record"]["hops"] == ["ruby-api", "python", "ruby-event"], doc
        assert doc["record"]["python_saw"] == "ACROSS"
        assert doc["pythonSaw"] == "ACROSS"  # dot access on a value Python stored
        async with session.get(f"{ruby_core.url}/__motia/traces/{trace_id}") as resp:
            spans = (await resp.json())["spans"]
    assert [(s["step"], s["language"]) for s in spans] == [
        ("RbStartChain", "ruby"),
        ("PyRelay", "python"),
        ("RbFinishChain", "ruby"),
    ]
    assert all(s["status"] == "completed" for s in spans)
    ruby_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("msg") == "chain finished")
    seen = {(d["step"], d["language"]) for d in _step_logs(ruby_core, trace_id)}
    assert {("PyRelay", "python"), ("RbFinishChain", "ruby")} <= seen


async def test_a_raise_is_a_500_with_the_ruby_backtrace_in_the_log(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{ruby_core.url}/rb/boom", json={}) as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "Internal server error"}
            trace_id = resp.headers["x-motia-trace-id"]
    line = ruby_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("level") == "error")
    assert "kaboom from ruby" in line["msg"]
    assert "ArgumentError" in line["msg"]
    stack = line["stack"]
    assert "steps/api/boom_step.rb:7:in `explode'" in stack
    assert "steps/api/boom_step.rb:11:in `handler'" in stack
    assert "runners/ruby/lib" not in stack  # the runner's own frames are left out
    async with aiohttp.ClientSession() as session:  # and the runner is fine
        async with session.post(f"{ruby_core.url}/rb/echo/1", json={"text": "still here"}) as resp:
            assert resp.status == 200


async def test_six_field_cron_runs_the_ruby_step_every_second(ruby_core: CoreProcess) -> None:
    deadline = time.monotonic() + 15
    items: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{ruby_core.url}/__motia/state?groupId=rb-ticks") as resp:
                items = (await resp.json())["items"]
            if len(items) >= 2:
                break
            await asyncio.sleep(0.2)
    assert len(items) >= 2
    assert len({item["key"] for item in items}) == len(items)  # a new trace per tick


async def test_50_concurrent_calls_to_a_sleeping_ruby_step(ruby_core: CoreProcess) -> None:
    # Each call sleeps 50 ms in the runner. No timing is asserted (shared machine): the step itself
    # counts how many of its handlers run at once, and every answer must be right.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def call(n: int) -> tuple[int, dict[str, Any]]:
            async with session.post(f"{ruby_core.url}/rb/slow", json={"n": n}) as resp:
                return resp.status, await resp.json()

        results = await asyncio.gather(*(call(n) for n in range(50)))
    assert [status for status, _ in results] == [200] * 50
    assert [doc["n"] for _, doc in results] == list(range(50))
    assert len({doc["trace"] for _, doc in results}) == 50
    peak = max(doc["peak"] for _, doc in results)
    assert peak > 1, "the Ruby handlers never overlapped"


async def test_killed_ruby_runner_is_respawned(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ruby")
    old_pid = core.runner_pids()["ruby"]
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    status = 0
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.post(f"{core.url}/rb/echo/back", json={"text": "again"}) as resp:
                status = resp.status
                if status == 200:
                    assert (await resp.json())["id"] == "back"
                    break
            await asyncio.sleep(0.1)
    assert status == 200
    new_pid = core.runner_pids()["ruby"]
    assert new_pid != old_pid
    assert not pid_alive(old_pid)
    core.wait_for_log(lambda d: "restarting the ruby runner" in d.get("msg", ""))


def test_no_orphan_ruby_runner_after_the_core_is_killed(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ruby")
    pids = core.runner_pids()
    assert set(pids) == {"ruby", "python"}
    core.proc.send_signal(signal.SIGKILL)
    core.proc.wait(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pids["ruby"]):
        time.sleep(0.05)
    assert not pid_alive(pids["ruby"]), f"orphan ruby runner {pids['ruby']}"


def test_graceful_stop_drains_the_ruby_runner(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ruby")
    pid = core.runner_pids()["ruby"]
    assert core.stop() == 0
    assert not pid_alive(pid)
    assert not core.find_logs(lambda d: "SIGTERM" in d.get("msg", "")), "the runner needed a SIGTERM"


# -- against an in-test core --------------------------------------------------------------------
