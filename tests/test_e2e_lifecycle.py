"""Process lifecycle end to end: restarts, crashes, orphans, invalid projects, cron, strict mode."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.conftest import CoreProcess, copy_fixture, pid_alive


async def _chain(url: str, text: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/messages", json={"text": text}) as resp:
            assert resp.status == 200
            trace_id: str = (await resp.json())["traceId"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            async with session.get(f"{url}/messages/{trace_id}") as resp:
                if resp.status == 200 and (await resp.json())["record"].get("done"):
                    return trace_id
            await asyncio.sleep(0.05)
    raise AssertionError("chain did not finish")


async def test_state_survives_a_restart(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed")
    trace_id = await _chain(core.url, "persist me")
    assert core.stop() == 0
    assert (core.project / ".motia" / "state.db").is_file()
    again = start_core("mixed")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{again.url}/messages/{trace_id}") as resp:
            assert resp.status == 200
            record = (await resp.json())["record"]
    assert record["steps"] == ["typescript", "python", "javascript"]


async def test_killed_runner_is_respawned_and_in_flight_calls_get_503(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed")
    old_pid = core.runner_pids()["python"]
    async with aiohttp.ClientSession() as session:
        in_flight = asyncio.create_task(session.get(f"{core.url}/py/sleep/30"))
        await asyncio.sleep(0.5)  # let it reach the runner
        os.kill(old_pid, signal.SIGKILL)
        resp = await asyncio.wait_for(in_flight, 10)  # answered at once, never hangs
        assert resp.status == 503
        assert (await resp.json())["error"] == "Service unavailable"
        resp.release()
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline:
            async with session.get(f"{core.url}/py/hello/again") as again:
                status = again.status
                if status == 200:
                    break
            await asyncio.sleep(0.1)
        assert status == 200
    new_pid = core.runner_pids()["python"]
    assert new_pid != old_pid
    assert not pid_alive(old_pid)
    core.wait_for_log(lambda d: "restarting the python runner" in d.get("msg", ""))


def test_no_orphan_runners_after_core_is_killed(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed")
    pids = core.runner_pids()
    assert set(pids) == {"node", "python"}
    core.proc.send_signal(signal.SIGKILL)
    core.proc.wait(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids.values()):
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids.values()), f"orphans: {pids}"


def test_graceful_stop_leaves_no_runner(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed")
    pids = core.runner_pids()
    assert core.stop() == 0
    assert not any(pid_alive(p) for p in pids.values())


def _steps_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "motia_core", "steps", "--dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_steps_check_names_file_and_field_and_exits_nonzero(tmp_path: Path) -> None:
    project = copy_fixture("invalid", tmp_path)
    result = _steps_cli(project, "--check", "--json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    issues = {(i["file"], i["field"]): i for i in doc["issues"]}
    assert ("steps/unknown_key_step.py", "config.infrastructure.queue") in issues
    assert "unknown key" in issues[("steps/unknown_key_step.py", "config.infrastructure.queue")]["message"]
    assert issues[("steps/unknown_key_step.py", "config.infrastructure.queue")]["line"] == 7
    assert "FETCH" in issues[("steps/bad-method.step.ts", "config.method")]["message"]
    assert "array" in issues[("steps/wrong_type_step.py", "config.subscribes")]["message"]
    assert "every minute" in issues[("steps/bad-cron.step.js", "config.cron")]["message"]
    assert ("steps/no-handler.step.ts", "handler") in issues
    assert "SyntaxError" in issues[("steps/syntax_error_step.py", "")]["message"]
    names = sorted(s["name"] for s in doc["steps"])
    assert names == ["Good", "SloppySchema"]
    assert any("config.input is not a valid JSON Schema" in w for w in doc["warnings"])
    plain = _steps_cli(project)
    assert plain.returncode == 0  # without --check it only reports
    assert "INVALID steps/bad-method.step.ts" in plain.stdout


async def test_serve_reports_invalid_steps_and_serves_the_rest(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("invalid")
    errors = core.find_logs(lambda d: d.get("level") == "error" and "invalid step" in d.get("msg", ""))
    assert len(errors) == 6, [e["msg"] for e in errors]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{core.url}/ok") as resp:
            assert resp.status == 200
        async with session.get(f"{core.url}/bad") as resp:
            assert resp.status == 404


async def test_cron_ticks_start_traces_that_events_join(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("cron")
    line = core.wait_for_log(lambda d: d.get("msg", "").startswith("loaded 3 steps"))
    assert "2 cron" in line["msg"]
    deadline = time.monotonic() + 15
    groups: list[dict[str, object]] = []
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{core.url}/__motia/state?groupId=cron-traces") as resp:
                groups = (await resp.json())["items"]
            if len(groups) >= 2:
                break
            await asyncio.sleep(0.2)
        assert len(groups) >= 2
        trace_ids = {g["key"] for g in groups}
        assert len(trace_ids) == len(groups)  # a new trace per tick
        some = next(iter(trace_ids))
        async with session.get(f"{core.url}/__motia/traces/{some}") as resp:
            spans = (await resp.json())["spans"]
    assert [s["step"] for s in spans][:2] == ["EverySecond", "OnTick"]


async def test_strict_mode_rejects_emits_failing_a_subscriber_schema(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed", "--strict")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/emit", json={"topic": "message.sent", "data": {"nope": 1}}) as resp:
            assert resp.status == 400
            doc = await resp.json()
    assert doc["error"] == "Event rejected"
    assert "ProcessMessage" in doc["message"]


async def test_events_in_flight_when_the_core_is_killed_are_delivered_after_restart(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("mixed")
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{core.url}/emit", json={"topic": "resumable.requested", "data": {"key": "k1"}}
        ) as resp:
            assert resp.status == 200
    core.wait_for_log(lambda d: d.get("msg") == "resumable started")
    core.proc.send_signal(signal.SIGKILL)
    core.proc.wait(5)
    again = start_core("mixed")
    deadline = time.monotonic() + 20
    value = None
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{again.url}/__motia/state?groupId=resumable") as resp:
                items = (await resp.json())["items"]
            value = items[0]["value"] if items else None
            if value == "done":
                break
            await asyncio.sleep(0.1)
    assert value == "done"
