"""Cases about stopping work: Cancel of one invocation (a handler past its timeout) and the drain a
runner starts by itself on SIGTERM. Both are capabilities a runner announces in Hello; the core
relies on them (docs/protocol.md, "Timeouts and cancellation" and "Drain on SIGTERM")."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._checks import completed, completed_empty, describe, echo_request, failed
from motia_core.conformance._kit import CaseContext, CaseFailed
from motia_core.conformance._stream import RunnerStream

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

    slow = runner.step("ConformanceSlow")
    inv = stream.start(slow, pb.TRIGGER_EVENT, {"ms": 30_000, "n": 1}, topic="conformance.slow")
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
    echo = stream.start(runner.step("ConformanceEcho"), pb.TRIGGER_API, echo_request("after cancel"))
    completed(await ctx.wait(runner, echo.result, "the echo result after a cancel"), "echo after cancel")
    return f"unknown id confirmed; a sleeping handler stopped and confirmed in {took_ms:.0f} ms, no result"


async def sigterm_drain(ctx: CaseContext) -> str:
    runner = await ctx.loaded_runner()  # its own runner: this case ends it
    stream = runner.connected
    _require(stream, "drain")
    slow = runner.step("ConformanceSlow")
    invs = [stream.start(slow, pb.TRIGGER_EVENT, {"ms": 400, "n": i}, topic="conformance.slow") for i in range(3)]
    await ctx.wait(runner, stream.ping(4343), "the Pong after three StartInvocations")
    os.kill(runner.process.pid, signal.SIGTERM)
    draining = await ctx.wait(runner, stream.draining, "Draining after SIGTERM", timeout=5.0)
    late = stream.start(slow, pb.TRIGGER_EVENT, {"ms": 1, "n": 99}, topic="conformance.slow")
    results = await ctx.wait(
        runner, asyncio.gather(*(inv.result for inv in invs), late.result), "the in-flight results"
    )
    for i, result in enumerate(results[:-1]):
        completed_empty(result, f"in-flight slow step {i}")
        if [c.args.get("message") for c in invs[i].calls] != ["slow done"]:
            raise CaseFailed(f"in-flight slow step {i} did not log 'slow done' before finishing")
    failed(results[-1], pb.FAILURE_KIND_SHUTTING_DOWN, "StartInvocation after Draining")
    code = await runner.process.wait(min(ctx.remaining, DRAIN_LIMIT_S))
    if code is None:
        raise CaseFailed(f"still running {DRAIN_LIMIT_S:.0f}s after SIGTERM with nothing left in flight")
    if not stream.half_closed:
        how = stream.ended.result() if stream.ended.done() else "the stream was still open"
        raise CaseFailed(f"exited ({code}) without half-closing the stream ({how})")
    if code != 0:
        raise CaseFailed(f"exited with code {code} after a SIGTERM drain, expected 0: {runner.process.tail()}")
    return f"Draining ({draining.reason or 'no reason'}), 3 in flight completed, late start SHUTTING_DOWN, exit 0"
