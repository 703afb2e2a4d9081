"""The Python runner's per-invocation path (docs/performance.md, "Python runner, third pass"): one task
per invocation named after it, fields read once, and a HandlerScope made only when user code can run
outside that task (a ``def`` piece, a middleware chain) or the invocation is cancelled."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from motia._execution import StepCallable
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_runner.calls import CallRouter
from motia_runner.invocations import Invocations
from motia_runner.loader import LoadedStep
from motia_runner.outbox import Outbox


class _Wire:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def write(self, frame: bytes) -> None:
        self.raw.append(frame)

    @property
    def messages(self) -> list[pb.RunnerMessage]:
        return [m for raw in self.raw for m in pb.RunnerFrame.FromString(raw).messages]


def _invocations(handler: Any, middleware: tuple[StepCallable, ...] = ()) -> tuple[Invocations, Outbox, _Wire]:
    wire = _Wire()
    outbox = Outbox(wire.write)
    step = LoadedStep("s", "/s.py", "s", {}, b"{}", StepCallable.of(handler), middleware)
    return Invocations({"s": step}, CallRouter(outbox, 1 << 20), outbox, None, 1 << 20), outbox, wire


def _start(invocation_id: str, token: int, flows: tuple[str, ...] = ("f",)) -> pb.StartInvocation:
    start = pb.StartInvocation(invocation_id=invocation_id, step_id="s", trigger=pb.TRIGGER_API, fencing_token=token)
    start.flows.extend(flows)
    start.payload_json = b'{"headers":{},"pathParams":{},"queryParams":{}}'
    start.http_body.SetInParent()
    return start


async def _answers(invocations: Invocations, outbox: Outbox, wire: _Wire) -> list[pb.RunnerMessage]:
    assert await invocations.drain(10) == 0
    outbox.close()
    await outbox.run()
    return wire.messages


async def test_each_invocation_runs_in_a_task_named_after_it_with_its_own_flows() -> None:
    seen: list[tuple[str, list[str], bool]] = []

    async def handler(req: Any, ctx: Any) -> Any:
        task = asyncio.current_task()
        assert task is not None
        seen.append((task.get_name(), ctx.flows, type(ctx.flows) is list))
        return {"status": 200, "body": {"n": len(seen)}}

    invocations, outbox, wire = _invocations(handler)
    invocations.start(_start("inv-a", 5, ("one",)))
    invocations.start(_start("inv-b", 6, ("two", "three")))
    messages = await _answers(invocations, outbox, wire)
    assert sorted(seen) == [("inv-a", ["one"], True), ("inv-b", ["two", "three"], True)]
    answered = {(m.result.invocation_id, m.result.fencing_token) for m in messages}
    assert answered == {("inv-a", 5), ("inv-b", 6)}
    assert all(m.result.completed.http_response.status == 200 for m in messages)


async def test_a_lone_async_handler_gets_a_scope_only_when_cancelled() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def handler(req: Any, ctx: Any) -> Any:
        entered.set()
        await release.wait()
        return {"status": 200}

    invocations, outbox, wire = _invocations(handler)
    invocations.start(_start("inv-1", 1))
    invocations.start(_start("inv-2", 2))
    await entered.wait()
    running = invocations._running
    assert running["inv-1"]._scope is None and running["inv-2"]._scope is None  # nothing outside the task
    invocations.cancel(pb.Cancel(invocation_id="inv-1", reason=pb.Cancel.REASON_TIMEOUT))
    assert running["inv-1"]._scope is not None and running["inv-1"]._scope.stopping
    release.set()
    messages = await _answers(invocations, outbox, wire)
    kinds = {m.WhichOneof("kind"): m for m in messages}
    assert kinds["cancelled"].cancelled.invocation_id == "inv-1" and kinds["cancelled"].cancelled.fencing_token == 1
    assert kinds["result"].result.invocation_id == "inv-2" and kinds["result"].result.fencing_token == 2
    assert len(invocations) == 0


async def test_def_handlers_and_middleware_chains_still_run_in_a_scope() -> None:
    threads: list[str] = []

    def handler(req: Any, ctx: Any) -> Any:
        threads.append(threading.current_thread().name)
        return {"status": 201}

    async def middleware(req: Any, ctx: Any, next_fn: Any) -> Any:
        return await next_fn()

    for chain in ((), (StepCallable.of(middleware),)):
        invocations, outbox, wire = _invocations(handler, chain)
        invocations.start(_start("inv-d", 9))
        await asyncio.sleep(0)  # the task started: the def handler was handed to a worker thread
        scope = invocations._running["inv-d"]._scope
        assert scope is not None  # it counts the worker thread, so a cancel can wait for it
        (message,) = await _answers(invocations, outbox, wire)
        assert message.result.completed.http_response.status == 201
        assert scope.idle
    assert len(threads) == 2 and all(name != threading.main_thread().name for name in threads)


async def test_results_whose_every_field_is_a_default_still_say_completed() -> None:
    for value, has_http in (({}, True), (None, False)):

        async def handler(req: Any, ctx: Any, value: Any = value) -> Any:
            return value

        invocations, outbox, wire = _invocations(handler)
        invocations.start(_start("inv-e", 0))
        (message,) = await _answers(invocations, outbox, wire)
        assert message.result.WhichOneof("outcome") == "completed"
        completed = message.result.completed
        assert completed.HasField("http_response") is has_http
        if has_http:  # an empty dict: status 0 (the core's default 200), no headers, no body
            http = completed.http_response
            assert (http.status, http.headers_json, http.body, http.body_kind) == (0, b"", b"", 0)
        else:
            assert completed.payload_json == b""
