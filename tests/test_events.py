"""Fan-out, input-schema checks, declared emits and the retry policy, over the in-process fake runner."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from motia_core.calls import CoreCalls
from motia_core.dispatch import RunnerInvoke, compose, failure_log_layer, tracing_layer
from motia_core.errors import CallFailed
from motia_core.events import EventBus, backoff
from motia_core.logs import Logger
from motia_core.project import RunnerName, StepFile
from motia_core.queue.memory import MemoryQueue
from motia_core.registry import Registry
from motia_core.runners.fake import FakeContext, FakeHandler, FakeSession
from motia_core.runners.transport import Manifest, RunnerSession
from motia_core.state.sqlite import SqliteStateStore
from motia_core.tracing import TraceStore


class World:
    def __init__(self, tmp_path: Path, configs: dict[str, dict[str, Any]], handlers: dict[str, FakeHandler]) -> None:
        self.log = io.StringIO()
        self.logger = Logger("json", stream=self.log)
        self.state = SqliteStateStore(tmp_path / "s.db")
        self.calls = CoreCalls(self.state, self.logger)
        self.session = FakeSession(handlers, self.calls, configs)
        self.traces = TraceStore()
        files = [StepFile(tmp_path / k, k, "python", RunnerName("python")) for k in configs]
        self.registry = Registry()
        self.files = files

    async def start(self, strict: bool = False) -> EventBus:
        manifest: Manifest = await self.session.load_steps(self.files, 1)
        self.registry.add_manifest(self.files, manifest)
        assert not self.registry.issues, self.registry.issues
        invoke = compose([failure_log_layer(self.logger), tracing_layer(self.traces)], RunnerInvoke(self))
        self.queue = MemoryQueue()
        bus = EventBus(self.registry, self.queue, invoke, self.logger, strict=strict, retry_base_delay=0.01)
        self.calls.bus = bus
        await self.queue.start()
        return bus

    async def session_for(self, runtime: RunnerName, timeout: float) -> RunnerSession:
        return self.session

    async def close(self) -> None:
        await self.queue.close()
        await self.state.close()

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.log.getvalue().splitlines()]


def event(name: str, topics: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "event", "name": name, "subscribes": topics, "emits": [], **extra}


async def _until(predicate: Any, timeout: float = 3) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_fan_out_to_every_subscriber_in_the_same_trace(tmp_path: Path) -> None:
    seen: list[tuple[str, Any, str]] = []

    def record(name: str) -> FakeHandler:
        async def h(payload: bytes, ctx: FakeContext) -> None:
            seen.append((name, orjson.loads(payload), ctx.invocation.trace_id))

        return h

    world = World(
        tmp_path,
        {"a_step.py": event("A", ["t"]), "b_step.py": event("B", ["t", "u"]), "c_step.py": event("C", ["u"])},
        {"a_step.py": record("A"), "b_step.py": record("B"), "c_step.py": record("C")},
    )
    bus = await world.start()
    assert await bus.emit("t", b'{"x":1}', "TR-1") == 2
    await _until(lambda: len(seen) == 2)
    assert sorted(seen) == [("A", {"x": 1}, "TR-1"), ("B", {"x": 1}, "TR-1")]
    assert await bus.emit("nobody", b"{}", "TR-2") == 0
    trace = world.traces.get("TR-1")
    assert trace is not None and sorted(s.step for s in trace.spans) == ["A", "B"]
    await world.close()


async def test_failures_are_retried_max_retries_times_then_dropped(tmp_path: Path) -> None:
    attempts: list[int] = []

    async def flaky(payload: bytes, ctx: FakeContext) -> None:
        attempts.append(ctx.invocation.attempt)
        raise RuntimeError("always fails")

    config = event("Flaky", ["t"], infrastructure={"queue": {"maxRetries": 2}})
    world = World(tmp_path, {"f_step.py": config}, {"f_step.py": flaky})
    bus = await world.start()
    await bus.emit("t", b"{}", "TR")
    await _until(lambda: any("giving up" in line["msg"] for line in world.lines()))
    assert attempts == [1, 2, 3]  # maxRetries 2 = 1 try + 2 retries
    await world.close()


async def test_a_retry_that_succeeds_is_acked(tmp_path: Path) -> None:
    attempts: list[int] = []

    async def second_time_lucky(payload: bytes, ctx: FakeContext) -> None:
        attempts.append(ctx.invocation.attempt)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")

    world = World(tmp_path, {"f_step.py": event("F", ["t"])}, {"f_step.py": second_time_lucky})
    bus = await world.start()
    await bus.emit("t", b"{}", "TR")
    await _until(lambda: len(attempts) == 2)
    await asyncio.sleep(0.1)
    assert attempts == [1, 2]
    await world.close()


async def test_input_schema_mismatch_warns_or_rejects_in_strict_mode(tmp_path: Path) -> None:
    got: list[bytes] = []

    async def h(payload: bytes, ctx: FakeContext) -> None:
        got.append(payload)

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    world = World(tmp_path, {"s_step.py": event("S", ["t"], input=schema)}, {"s_step.py": h})
    bus = await world.start()
    await bus.emit("t", b'{"n":"one"}', "TR")
    await _until(lambda: len(got) == 1)  # delivered anyway, as Motia does
    warn = next(line for line in world.lines() if line["level"] == "warn")
    assert "input schema of S" in warn["msg"] and "/n" in warn["msg"]
    bus.strict = True
    with pytest.raises(CallFailed) as info:
        await bus.emit("t", b'{"n":"one"}', "TR")
    assert info.value.code == "CODE_REJECTED"
    await world.close()


async def test_undeclared_emit_is_dropped_with_a_warning(tmp_path: Path) -> None:
    assert await _emit_from_step(tmp_path, declared=["other"]) == 0
    (tmp_path / "2").mkdir()
    assert await _emit_from_step(tmp_path / "2", declared=[]) == 1  # an empty emits list allows any topic


async def _emit_from_step(tmp_path: Path, declared: list[str]) -> int:
    world = World(tmp_path, {"l_step.py": event("L", ["t"])}, {"l_step.py": lambda p, c: None})
    bus = await world.start()
    count = await bus.emit("t", b"{}", "TR", source="Emitter", allowed=tuple(declared))
    await world.close()
    return count


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    assert [round(backoff(1.0, n, rand=lambda: 0.5), 2) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(1.0, 1, rand=lambda: 0.0) == pytest.approx(0.8)
    assert backoff(1.0, 50, rand=lambda: 1.0) == pytest.approx(72.0)
