"""Cases about stopping work: Cancel of one invocation (a handler past its timeout), the drain the
core asks for (Shutdown) and the drain a runner starts by itself on SIGTERM. Cancel and the SIGTERM
drain are capabilities a runner announces in Hello; the core relies on them (docs/protocol.md,
"Timeouts and cancellation" and "Drain on SIGTERM")."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._checks import check_calls, completed, completed_empty, describe, echo_request, failed
from motia_core.conformance._kit import CaseContext, CaseFailed, Runner
from motia_core.conformance._spec import spec
from motia_core.conformance._stream import Invocation, RunnerStream

SHUTDOWN_GRACE_MS = 5000
CANCEL_GRACE_S = 5.0  # Cancel.grace_ms the kit sends: the core restarts a runner that takes longer
QUIET_AFTER_CANCEL_S = 0.3  # how long the kit watches for a result that must not come
DRAIN_LIMIT_S = 8.0


def _require(stream: RunnerStream, capability: str) -> None:
    if capability not in stream.hello.capabilities:
        announced = ", ".join(stream.hello.capabilities) or "none"
        raise CaseFailed(
            f"Hello.capabilities lacks {capability!r} (announced: {announced}); "
            "see docs/protocol.md, 'Timeouts and cancellation' and 'Drain on SIGTERM'"
        )


async def cancel(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    _require(stream, "cancel")
    unknown = f"inv-never-started-{uuid.uuid4().hex[:8]}"
    confirmed = await ctx.wait(
        runner, stream.cancel(unknown), "Cancelled for an invocation never started", timeout=CANCEL_GRACE_S
    )
    if confirmed.invocation_id != unknown:
        raise CaseFailed(f"Cancelled names {confirmed.invocation_id!r}, expected {unknown!r}")

    slow = runner.step(spec().step("slow").name)
    inv = stream.start(slow, pb.TRIGGER_EVENT, {"ms": 30_000, "n": 1}, topic=spec().step("slow").topic)
    await ctx.wait(runner, stream.ping(4242), "the Pong after StartInvocation")
    await asyncio.sleep(0.1)  # the handler is sleeping now
    sent = time.monotonic()
    invocation_id = inv.start.invocation_id
    cancelled = await ctx.wait(
        runner, stream.cancel(invocation_id), "Cancelled for a sleeping handler", timeout=CANCEL_GRACE_S
    )
    took_ms = (time.monotonic() - sent) * 1000
    if cancelled.fencing_token != inv.start.fencing_token:
        raise CaseFailed(
            f"Cancelled carries fencing token {cancelled.fencing_token}, expected {inv.start.fencing_token}"
        )
    await asyncio.sleep(QUIET_AFTER_CANCEL_S)
    if inv.result.done():
        raise CaseFailed(f"the cancelled invocation still got a result: {describe(inv.result.result())}")
    inv.result.cancel()  # none may come; a late one is a violation (see RunnerStream._on_result)
    echo = stream.start(runner.step(spec().step("echo").name), pb.TRIGGER_API, echo_request("after cancel"))
    completed(await ctx.wait(runner, echo.result, "the echo result after a cancel"), "echo after cancel")
    return f"unknown id confirmed; a sleeping handler stopped and confirmed in {took_ms:.0f} ms, no result"


async def shutdown_drain(ctx: CaseContext) -> str:
    runner = await ctx.loaded_runner()
    stream = runner.connected
    slow = runner.step(spec().step("slow").name)
    invs = [
        stream.start(slow, pb.TRIGGER_EVENT, {"ms": 300, "n": i}, topic=spec().step("slow").topic) for i in range(5)
    ]
    await asyncio.sleep(0.05)
    stream.shutdown(SHUTDOWN_GRACE_MS, "conformance kit: shutdown_drain")
    late = stream.start(slow, pb.TRIGGER_EVENT, {"ms": 1, "n": 99}, topic=spec().step("slow").topic)  # same frame
    limit = min(ctx.remaining, SHUTDOWN_GRACE_MS / 1000 + 3.0)
    code = await runner.process.wait(limit)
    for i, inv in enumerate(invs):
        if not inv.result.done() or inv.result.cancelled() or inv.result.exception() is not None:
            raise CaseFailed(f"in-flight invocation {i} got no result before the {_end(code, limit)}")
        _slow_completed(inv.result.result(), inv, i)
    if not late.result.done() or late.result.cancelled() or late.result.exception() is not None:
        raise CaseFailed(f"the StartInvocation sent after Shutdown got no result before the {_end(code, limit)}")
    if late.result.result().WhichOneof("outcome") != "failed":
        raise CaseFailed(f"the StartInvocation sent after Shutdown ran: {describe(late.result.result())}")
    failed(late.result.result(), pb.FAILURE_KIND_SHUTTING_DOWN, "StartInvocation after Shutdown")
    _exited_cleanly(runner, code, f"{limit:.0f}s after Shutdown (grace {SHUTDOWN_GRACE_MS} ms)", "Shutdown")
    return "5 in flight completed, late start SHUTTING_DOWN, half-closed, exit 0"


async def sigterm_drain(ctx: CaseContext) -> str:
    runner = await ctx.loaded_runner()  # its own runner: this case ends it
    stream = runner.connected
    _require(stream, "drain")
    slow = runner.step(spec().step("slow").name)
    invs = [
        stream.start(slow, pb.TRIGGER_EVENT, {"ms": 400, "n": i}, topic=spec().step("slow").topic) for i in range(3)
    ]
    await ctx.wait(runner, stream.ping(4343), "the Pong after three StartInvocations")
    os.kill(runner.process.pid, signal.SIGTERM)
    draining = await ctx.wait(runner, stream.draining, "Draining after SIGTERM", timeout=5.0)
    late = stream.start(slow, pb.TRIGGER_EVENT, {"ms": 1, "n": 99}, topic=spec().step("slow").topic)
    results = await ctx.wait(
        runner, asyncio.gather(*(inv.result for inv in invs), late.result), "the in-flight results"
    )
    for i, result in enumerate(results[:-1]):
        _slow_completed(result, invs[i], i)
    failed(results[-1], pb.FAILURE_KIND_SHUTTING_DOWN, "StartInvocation after Draining")
    code = await runner.process.wait(min(ctx.remaining, DRAIN_LIMIT_S))
    _exited_cleanly(runner, code, f"{DRAIN_LIMIT_S:.0f}s after SIGTERM with nothing left in flight", "a SIGTERM drain")
    return f"Draining ({draining.reason or 'no reason'}), 3 in flight completed, late start SHUTTING_DOWN, exit 0"


def _slow_completed(result: pb.InvocationResult, inv: Invocation, i: int) -> None:
    completed_empty(result, f"in-flight slow step {i}")
    check_calls(inv, spec().step("slow"), {"input": orjson.loads(inv.start.payload_json)}, f"in flight ({i})")


def _exited_cleanly(runner: Runner, code: int | None, still_running: str, after: str) -> None:
    """Exit 0 after half-closing the stream (the runner's side of a finished drain)."""
    stream = runner.connected
    if code is None:
        raise CaseFailed(f"still running {still_running}")
    if not stream.half_closed:
        how = stream.ended.result() if stream.ended.done() else "the stream was still open"
        raise CaseFailed(f"exited ({code}) without half-closing the stream ({how})")
    if code != 0:
        raise CaseFailed(f"exited with code {code} after {after}, expected 0: {runner.process.tail()}")


def _end(code: int | None, limit: float) -> str:
    return f"runner exited ({code})" if code is not None else f"{limit:.0f}s limit"
