"""The Node runner's Cancel, SIGTERM drain and retry hints, at the protocol level.

A small grpc.aio fake core (in this file) plays the core's end of the stream against the real
`node runners/node/dist/runner.cjs`: it records every RunnerMessage in arrival order, answers calls
with null, and *holds* the reply of every `state.get` on group "gate" until the test releases it.
Holding replies is how a test knows a handler is still in flight without relying on timings.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import grpc
import orjson
import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc
from motia_core.conformance._process import RunnerProcess

ROOT = Path(__file__).resolve().parent.parent
NODE_RUNNER = ROOT / "runners" / "node" / "dist" / "runner.cjs"
WAIT = 20.0  # generous upper bound for anything to arrive; never a timing assertion

STEPS: dict[str, str] = {
    # Waits on a call the fake core never answers, then checks what cancellation did to its context.
    "steps/cancellable.step.ts": """
import type { EventConfig, FlowContext } from 'motia'

export const config: EventConfig = { type: 'event', name: 'Cancellable', subscribes: ['c'], emits: [], flows: ['t'] }

export const handler = async (_input: unknown, ctx: FlowContext) => {
  const aborted = new Promise<any>((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)))
  let pending: any = null
  try {
    await ctx.state.get('gate', 'held')
  } catch (error) {
    pending = error
  }
  const reason = await aborted
  let later: any = null
  try {
    await ctx.emit({ topic: 'after.cancel', data: {} })
  } catch (error) {
    later = error
  }
  ctx.logger.info('after cancel', {
    pending: pending?.name ?? null,
    later: later?.name ?? null,
    reason: reason?.reason ?? null,
    same: pending === reason && later === reason,
    aborted: ctx.signal.aborted,
  })
  return { dropped: true }
}
""",
    # Ignores its signal and never finishes.
    "steps/stubborn.step.ts": """
import type { EventConfig, FlowContext } from 'motia'

export const config: EventConfig = { type: 'event', name: 'Stubborn', subscribes: ['s'], emits: [], flows: ['t'] }

export const handler = async (_input: unknown, ctx: FlowContext) => {
  ctx.logger.info('stubborn started')
  await new Promise(() => undefined)
}
""",
    # In flight until the fake core answers its gate call.
    "steps/gated.step.ts": """
import type { EventConfig, FlowContext } from 'motia'

export const config: EventConfig = { type: 'event', name: 'Gated', subscribes: ['g'], emits: [], flows: ['t'] }

export const handler = async (input: { n: number }, ctx: FlowContext) => {
  await ctx.state.get('gate', String(input.n))
  return { n: input.n }
}
""",
    "steps/echo.step.ts": """
import type { EventConfig } from 'motia'

export const config: EventConfig = { type: 'event', name: 'Echo', subscribes: ['e'], emits: [], flows: ['t'] }

export const handler = async (input: unknown) => input
""",
    "steps/retry_ts.step.ts": """
import { NonRetryableError, RetryAfterError, type EventConfig } from 'motia'

export const config: EventConfig = { type: 'event', name: 'RetryTs', subscribes: ['r'], emits: [], flows: ['t'] }

export const handler = async (input: { mode: string }) => {
  if (input.mode === 'retry-after') throw new RetryAfterError(1500, 'rate limited')
  if (input.mode === 'non-retryable') throw new NonRetryableError('bad input')
  throw new Error('plain')
}
""",
    "steps/retry_js.step.js": """
const { NonRetryableError, RetryAfterError } = require('motia')

exports.config = { type: 'event', name: 'RetryJs', subscribes: ['r'], emits: [], flows: ['t'] }

exports.handler = async (input) => {
  if (input.mode === 'retry-after') throw new RetryAfterError(42000)
  if (input.mode === 'non-retryable') throw new NonRetryableError('no point', { cause: new Error('root') })
  if (input.mode === 'props') {
    const error = new Error('old style')
    error.nonRetryable = true
    error.retryAfterMs = 250
    throw error
  }
  throw new TypeError('plain')
}
""",
}


class FakeCore:
    """The core's end of one runner stream: send CoreMessages, look at RunnerMessages in order."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.secret = secrets.token_hex(8)
        self.received: list[pb.RunnerMessage] = []
        self.half_closed = asyncio.Event()
        self.connected = asyncio.Event()
        self.held: list[pb.Call] = []  # gate calls not answered yet
        self._changed = asyncio.Event()
        self._outgoing: asyncio.Queue[pb.CoreFrame | None] = asyncio.Queue()
        self._server: Any = None
        self._fencing = 1 << 33  # above 32 bits: the token must round-trip as a uint64
        self._socket_dir = tempfile.mkdtemp(prefix="mc-node-cancel-")
        self.address = f"unix:{self._socket_dir}/core.sock"

    async def listen(self) -> None:
        core = self

        class Servicer(pb_grpc.RunnerServiceServicer):
            async def Connect(self, request_iterator: Any, context: Any) -> None:
                await core._serve(context)

        self._server = grpc.aio.server()
        pb_grpc.add_RunnerServiceServicer_to_server(Servicer(), self._server)  # type: ignore[no-untyped-call]
        self._server.add_insecure_port(self.address)
        await self._server.start()

    async def stop(self) -> None:
        self._outgoing.put_nowait(None)
        try:
            if self._server is not None:
                await self._server.stop(0.5)
        finally:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    async def _serve(self, context: Any) -> None:
        self.connected.set()
        reader = asyncio.create_task(self._read(context))
        try:
            while (frame := await self._outgoing.get()) is not None:
                await context.write(frame)
        finally:
            reader.cancel()

    async def _read(self, context: Any) -> None:
        while True:
            frame = await context.read()
            if frame is grpc.aio.EOF:
                self.half_closed.set()
                self._outgoing.put_nowait(None)  # like the core: answer the half-close by ending the stream
                return
            for msg in frame.messages:
                self._on_message(msg)

    def _on_message(self, msg: pb.RunnerMessage) -> None:
        self.received.append(msg)
        if msg.WhichOneof("kind") == "call" and msg.call.request_id:
            call = msg.call
            if call.WhichOneof("op") == "state_get" and call.state_get.group_id == "gate":
                self.held.append(call)
            else:
                self.reply(call)
        self._changed.set()

    # -- sending ----------------------------------------------------------------------------------

    def send(self, *messages: pb.CoreMessage) -> None:
        self._outgoing.put_nowait(pb.CoreFrame(messages=list(messages)))

    def reply(self, call: pb.Call, value: bytes = b"null") -> None:
        self.send(pb.CoreMessage(call_reply=pb.CallReply(request_id=call.request_id, value_json=value)))

    def release_gates(self) -> None:
        held, self.held = self.held, []
        for call in held:
            self.reply(call)

    def start_message(self, step_id: str, payload: Any) -> pb.CoreMessage:
        self._fencing += 1
        return pb.CoreMessage(
            start=pb.StartInvocation(
                invocation_id=f"inv-{secrets.token_hex(6)}",
                step_id=step_id,
                attempt=1,
                fencing_token=self._fencing,
                trace_id="trace-1",
                flows=["t"],
                trigger=pb.TRIGGER_EVENT,
                payload_json=orjson.dumps(payload),
            )
        )

    def start(self, step_id: str, payload: Any) -> pb.StartInvocation:
        msg = self.start_message(step_id, payload)
        self.send(msg)
        return msg.start

    @staticmethod
    def cancel_message(invocation_id: str, reason: int = pb.Cancel.REASON_TIMEOUT) -> pb.CoreMessage:
        return pb.CoreMessage(cancel=pb.Cancel(invocation_id=invocation_id, reason=reason, grace_ms=5000))  # type: ignore[arg-type]

    # -- waiting ----------------------------------------------------------------------------------

    async def wait_for(self, what: str, predicate: Callable[[pb.RunnerMessage], bool]) -> pb.RunnerMessage:
        async def scan() -> pb.RunnerMessage:
            seen = 0
            while True:
                for msg in self.received[seen:]:
                    if predicate(msg):
                        return msg
                seen = len(self.received)
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), WAIT)
        except TimeoutError:
            kinds = [m.WhichOneof("kind") for m in self.received]
            raise AssertionError(f"no {what} from the runner; received: {kinds}") from None

    async def result(self, invocation_id: str) -> pb.InvocationResult:
        msg = await self.wait_for(
            f"result of {invocation_id}",
            lambda m: m.WhichOneof("kind") == "result" and m.result.invocation_id == invocation_id,
        )
        return msg.result

    async def log(self, text: str) -> dict[str, Any]:
        msg = await self.wait_for(
            f"log line {text!r}",
            lambda m: (
                m.WhichOneof("kind") == "call" and m.call.WhichOneof("op") == "log" and m.call.log.message == text
            ),
        )
        fields: dict[str, Any] = orjson.loads(msg.call.log.fields_json) if msg.call.log.fields_json else {}
        return fields

    async def held_call(self, key: str) -> pb.Call:
        await self.wait_for(
            f"gate call {key!r}",
            lambda m: (
                m.WhichOneof("kind") == "call" and m.call.state_get.group_id == "gate" and m.call.state_get.key == key
            ),
        )
        return next(c for c in self.held if c.state_get.key == key)

    def of_kind(self, kind: str) -> list[pb.RunnerMessage]:
        return [m for m in self.received if m.WhichOneof("kind") == kind]

    def results_for(self, invocation_id: str) -> list[pb.InvocationResult]:
        return [m.result for m in self.of_kind("result") if m.result.invocation_id == invocation_id]


class Session:
    def __init__(self, core: FakeCore, process: RunnerProcess, hello: pb.Hello, steps: dict[str, str]) -> None:
        self.core = core
        self.process = process
        self.hello = hello
        self.steps = steps  # config name -> step id

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.proc.send_signal(signum)

    async def exit_code(self) -> int | None:
        return await self.process.wait(WAIT)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    node = shutil.which("node")
    if node is None or not NODE_RUNNER.is_file():
        pytest.skip("node or runners/node/dist/runner.cjs is missing (run `make install`)")
    project = tmp_path / "project"
    for relative, source in STEPS.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(source.lstrip(), encoding="utf-8")
    core = FakeCore(project)
    env = {
        "MOTIA_CORE_ADDRESS": core.address,
        "MOTIA_RUNNER_SECRET": core.secret,
        "MOTIA_PROJECT_DIR": str(project),
        "MOTIA_RUNNER_SLOTS": "16",
    }
    process: RunnerProcess | None = None
    try:
        await core.listen()
        process = await RunnerProcess.spawn([node, str(NODE_RUNNER)], str(project), env, "node runner")
        hello = (await core.wait_for("Hello", lambda m: m.WhichOneof("kind") == "hello")).hello
        assert hello.secret == core.secret
        load = pb.LoadSteps(request_id=1)
        for relative in STEPS:
            load.files.add(step_id=relative, path=str(project / relative), relative_path=relative)
        core.send(
            pb.CoreMessage(welcome=pb.Welcome(protocol_version=1, session_id="s-1", max_message_bytes=1 << 20)),
            pb.CoreMessage(load_steps=load),
        )
        loaded = (await core.wait_for("StepsLoaded", lambda m: m.WhichOneof("kind") == "steps_loaded")).steps_loaded
        assert not loaded.errors, loaded.errors
        steps = {orjson.loads(s.config_json)["name"]: s.step_id for s in loaded.steps}
        yield Session(core, process, hello, steps)
    finally:
        if process is not None:
            await process.kill()
        await core.stop()
    problems = [line for line in process.stderr if "uncaught" in line or "unhandled" in line]
    assert not problems, problems


def _failed(result: pb.InvocationResult) -> pb.Failed:
    assert result.WhichOneof("outcome") == "failed", result
    return result.failed


async def test_hello_announces_cancel_and_drain(session: Session) -> None:
    assert {"cancel", "drain"} <= set(session.hello.capabilities)


async def test_cancel_stops_a_waiting_handler_and_frees_its_slot(session: Session) -> None:
    core = session.core
    start = core.start(session.steps["Cancellable"], {})
    held = await core.held_call("held")  # the handler is in flight, waiting for this reply
    core.send(core.cancel_message(start.invocation_id), core.cancel_message(start.invocation_id))

    cancelled = await core.wait_for("Cancelled", lambda m: m.WhichOneof("kind") == "cancelled")
    assert cancelled.cancelled.invocation_id == start.invocation_id
    assert cancelled.cancelled.fencing_token == start.fencing_token
    # The pending call and every later call reject with the signal's reason; the signal aborted.
    fields = await core.log("after cancel")
    assert fields == {
        "pending": "AbortError",
        "later": "AbortError",
        "reason": "timeout",
        "same": True,
        "aborted": True,
    }
    # A late reply to the abandoned call is ignored.
    core.reply(held, b'"too late"')

    # The next invocation runs normally; its result comes after the cancelled one's handler ended.
    echo = core.start(session.steps["Echo"], {"next": 1})
    result = await core.result(echo.invocation_id)
    assert orjson.loads(result.completed.payload_json) == {"next": 1}
    # The second Cancel of the same invocation was confirmed as well, with the same token.
    confirmations = [m.cancelled for m in core.of_kind("cancelled")]
    assert [(c.invocation_id, c.fencing_token) for c in confirmations] == [
        (start.invocation_id, start.fencing_token)
    ] * 2
    assert core.results_for(start.invocation_id) == []  # no InvocationResult for a cancelled invocation
    assert not [m for m in core.of_kind("call") if m.call.WhichOneof("op") == "emit"]


async def test_cancel_of_unknown_or_finished_invocation_is_confirmed_at_once(session: Session) -> None:
    core = session.core
    core.send(core.cancel_message("never-started", pb.Cancel.REASON_SHUTDOWN))
    first = await core.wait_for("Cancelled", lambda m: m.WhichOneof("kind") == "cancelled")
    assert first.cancelled.invocation_id == "never-started"
    assert first.cancelled.fencing_token == 0

    echo = core.start(session.steps["Echo"], {"n": 1})
    assert (await core.result(echo.invocation_id)).WhichOneof("outcome") == "completed"
    core.send(core.cancel_message(echo.invocation_id))
    late = await core.wait_for(
        "Cancelled of a finished invocation",
        lambda m: m.WhichOneof("kind") == "cancelled" and m.cancelled.invocation_id == echo.invocation_id,
    )
    assert late.cancelled.fencing_token == echo.fencing_token
    assert len(core.results_for(echo.invocation_id)) == 1


async def test_cancelled_handler_that_ignores_its_signal_does_not_hold_up_a_drain(session: Session) -> None:
    core = session.core
    start = core.start(session.steps["Stubborn"], {})
    await core.log("stubborn started")
    core.send(core.cancel_message(start.invocation_id))
    await core.wait_for("Cancelled", lambda m: m.WhichOneof("kind") == "cancelled")

    session.signal()
    await core.wait_for("Draining", lambda m: m.WhichOneof("kind") == "draining")
    await asyncio.wait_for(core.half_closed.wait(), WAIT)
    assert await session.exit_code() == 0
    assert core.results_for(start.invocation_id) == []


async def test_sigterm_drains_in_flight_invocations_then_exits_zero(session: Session) -> None:
    core = session.core
    gated = session.steps["Gated"]
    first, second = core.start(gated, {"n": 1}), core.start(gated, {"n": 2})
    await core.held_call("1")
    await core.held_call("2")  # both handlers are in flight

    session.signal()
    draining = await core.wait_for("Draining", lambda m: m.WhichOneof("kind") == "draining")
    assert draining.draining.reason == "SIGTERM"

    # A second SIGTERM and the core's Shutdown change nothing; new work is refused.
    session.signal()
    late = core.start_message(session.steps["Echo"], {"late": True})
    core.send(pb.CoreMessage(shutdown=pb.Shutdown(grace_ms=0, reason="test")), late)
    refused = _failed(await core.result(late.start.invocation_id))
    assert refused.kind == pb.FAILURE_KIND_SHUTTING_DOWN
    core.send(pb.CoreMessage(ping=pb.Ping(nonce=7)))  # still answering while draining
    await core.wait_for("Pong", lambda m: m.WhichOneof("kind") == "pong" and m.pong.nonce == 7)
    assert not core.half_closed.is_set()  # the drain waits for the two handlers

    core.release_gates()
    for start, n in ((first, 1), (second, 2)):
        result = await core.result(start.invocation_id)
        assert result.fencing_token == start.fencing_token
        assert orjson.loads(result.completed.payload_json) == {"n": n}
    await asyncio.wait_for(core.half_closed.wait(), WAIT)
    assert await session.exit_code() == 0

    assert len(core.of_kind("draining")) == 1
    kinds = [(m.WhichOneof("kind"), m.result.invocation_id) for m in core.received]
    draining_at = kinds.index(("draining", ""))
    assert draining_at < kinds.index(("result", first.invocation_id))
    assert draining_at < kinds.index(("result", second.invocation_id))


@pytest.mark.parametrize(
    ("step", "mode", "error_type", "message", "retry_after_ms", "non_retryable"),
    [
        ("RetryTs", "retry-after", "RetryAfterError", "rate limited", 1500, False),
        ("RetryTs", "non-retryable", "NonRetryableError", "bad input", 0, True),
        ("RetryTs", "plain", "Error", "plain", 0, False),
        ("RetryJs", "retry-after", "RetryAfterError", "retry after 42000 ms", 42000, False),
        ("RetryJs", "non-retryable", "NonRetryableError", "no point", 0, True),
        ("RetryJs", "props", "Error", "old style", 250, True),
        ("RetryJs", "plain", "TypeError", "plain", 0, False),
    ],
)
async def test_retry_hints_map_to_failed_fields(
    session: Session, step: str, mode: str, error_type: str, message: str, retry_after_ms: int, non_retryable: bool
) -> None:
    start = session.core.start(session.steps[step], {"mode": mode})
    failed = _failed(await session.core.result(start.invocation_id))
    assert failed.kind == pb.FAILURE_KIND_HANDLER_ERROR
    assert (failed.error_type, failed.message) == (error_type, message)
    assert failed.retry_after_ms == retry_after_ms
    assert failed.non_retryable is non_retryable
    assert "retry_" in failed.stack  # the native stack points into the step file
