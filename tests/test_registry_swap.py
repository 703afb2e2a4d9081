"""The live registry (registry.LiveRegistry): one swap changes routes, subscriptions and cron at
once, and a runner restarted after a crash has its manifest reconciled (docs/dev.md)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from motia_core import events
from motia_core.cron import CronScheduler
from motia_core.dispatch import InvokeRequest
from motia_core.events import EventBus, subscription_key
from motia_core.logs import Logger
from motia_core.project import RunnerName, StepFile
from motia_core.queue.base import QueuedEvent
from motia_core.queue.memory import MemoryQueue
from motia_core.registry import LiveRegistry, Registry, RuntimeLoad, build_registry
from motia_core.runners.transport import Manifest, ManifestEntry, Outcome
from motia_core.tracing import TraceStore
from tests.conftest import CoreProcess


def _registry(tmp_path: Path, configs: dict[str, dict[str, Any]]) -> Registry:
    files = [StepFile(tmp_path / name, name, "python", RunnerName("python")) for name in configs]
    manifest = Manifest([ManifestEntry(name, orjson.dumps(cfg), True) for name, cfg in configs.items()])
    return build_registry({"python": RuntimeLoad(files, manifest)}, [], files)


def _event(name: str, topic: str = "t") -> dict[str, Any]:
    return {"type": "event", "name": name, "subscribes": [topic], "emits": []}


def _api(name: str, path: str) -> dict[str, Any]:
    return {"type": "api", "name": name, "method": "GET", "path": path, "emits": []}


def test_swap_calls_every_listener_with_old_and_new_and_returns_the_old(tmp_path: Path) -> None:
    first, second = _registry(tmp_path, {"a_step.py": _event("A")}), Registry()
    live = LiveRegistry(first)
    seen: list[tuple[str, Registry, Registry]] = []
    live.on_swap(lambda old, new: seen.append(("http", old, new)))
    live.on_swap(lambda old, new: seen.append(("bus", old, new)))
    assert live.swap(second) is first
    assert live.current is second and live.generation == 1
    assert seen == [("http", first, second), ("bus", first, second)]


def test_build_registry_resolves_a_route_conflict_by_path_whatever_the_load_order(tmp_path: Path) -> None:
    one = _registry(tmp_path, {"b_step.py": _api("B", "/x"), "a_step.py": _api("A", "/x")})
    two = _registry(tmp_path, {"a_step.py": _api("A", "/x"), "b_step.py": _api("B", "/x")})
    assert [s.name for s in one.steps] == [s.name for s in two.steps] == ["A"]
    assert [i.file for i in one.issues] == [i.file for i in two.issues] == ["b_step.py"]


@pytest.mark.asyncio
async def test_the_bus_follows_a_swap_and_keeps_a_removed_steps_events_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "REMOVED_STEP_DELAY", 0.05)
    ran: list[str] = []

    async def invoke(req: InvokeRequest) -> Outcome:
        ran.append(req.step.name)
        return Outcome(b"null")

    queue = MemoryQueue()
    live = LiveRegistry(_registry(tmp_path, {"a_step.py": _event("A")}))
    bus = EventBus(live.current, queue, invoke, Logger("json", stream=io.StringIO()), retry_base_delay=0.01)
    live.on_swap(lambda _old, new: bus.update(new))
    await queue.start()
    try:
        assert await bus.emit("t", b"{}", "trace-1") == 1
        await _until(lambda: ran == ["A"])
        # A's config changed (new name), B subscribes too: both take the next event, A by its new config
        live.swap(_registry(tmp_path, {"a_step.py": _event("A2"), "b_step.py": _event("B")}))
        assert await bus.emit("t", b"{}", "trace-2") == 2
        await _until(lambda: sorted(ran[1:]) == ["A2", "B"])
        # A deleted: an event already queued for it waits, no attempt used, and runs when A is back
        removed = _registry(tmp_path, {"b_step.py": _event("B")})
        live.swap(removed)
        key = subscription_key("t", _registry(tmp_path, {"a_step.py": _event("A")}).steps[0])
        await queue.enqueue(key, QueuedEvent(topic="t", data_json=b"{}", trace_id="trace-3"))
        await asyncio.sleep(0.3)
        assert len(ran) == 3 and (await queue.stats()).subscriptions[key].depth == 1
        live.swap(_registry(tmp_path, {"a_step.py": _event("A3"), "b_step.py": _event("B")}))
        await _until(lambda: ran[-1:] == ["A3"])
        assert (await queue.stats()).subscriptions[key].depth == 0
    finally:
        await queue.close()


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_cron_follows_a_swap(tmp_path: Path) -> None:
    ran: list[str] = []

    async def invoke(req: InvokeRequest) -> Outcome:
        ran.append(req.step.name)
        return Outcome()

    def cron(name: str) -> dict[str, Any]:
        return {"type": "cron", "name": name, "cron": "* * * * * *", "emits": []}  # every second

    live = LiveRegistry(_registry(tmp_path, {"c_step.py": cron("C")}))
    scheduler = CronScheduler(live.current.steps, invoke, TraceStore(), Logger("json", stream=io.StringIO()))
    live.on_swap(lambda _old, new: scheduler.update(new.steps))
    scheduler.start()
    try:
        await _until(lambda: "C" in ran, 5)
        live.swap(_registry(tmp_path, {"c_step.py": cron("C2")}))  # same schedule, new config
        await _until(lambda: "C2" in ran, 5)
        live.swap(Registry())  # deleted: no more ticks
        await asyncio.sleep(0.1)  # a tick already started may still land
        count = len(ran)
        await asyncio.sleep(2.2)
        assert len(ran) == count
    finally:
        await scheduler.stop()


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.chaos
@pytest.mark.timeout(120)
def test_a_runner_restarted_after_a_crash_has_its_manifest_reconciled(
    start_core: Callable[..., CoreProcess],
) -> None:
    """serve: the restarted runner loads the files as they are now; its manifest replaces the old
    one (before, a moved route kept its old path until the next start)."""
    core = start_core("dv_app")
    assert _get(core.url + "/py/v1") == (200, {"v": "py-v1"})
    step = core.project / "steps/version_step.py"
    step.write_text(step.read_text().replace('"/py/v1"', '"/py/v2"'))
    os.kill(core.runner_pids()["python"], signal.SIGKILL)
    line = core.wait_for_log(lambda d: "the python runner restarted: now serving" in d.get("msg", ""), 60)
    assert "6 steps" in line["msg"], line
    assert _get(core.url + "/py/v2") == (200, {"v": "py-v1"})
    assert _get(core.url + "/py/v1")[0] == 404
    assert _get(core.url + "/ts") == (200, {"v": "ts-v1"})  # the other runners' steps are untouched
