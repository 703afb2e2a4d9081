"""The real runner process against the in-test core: Cancel, SIGTERM drain and retry hints.

No test asserts a duration: "slow" handlers wait for a gate the test opens (a state key the fake
core serves), and "stopped" is proven by ordering (a log line a handler writes on its way out
arrives before its Cancelled).
"""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

from .fake_core import FakeCore

SLEEPY = """
    import asyncio

    config = {"type": "event", "name": "Sleepy", "subscribes": [], "emits": []}

    async def handler(data, context):
        context.logger.info("started", {"n": data["n"]})
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            context.logger.info("cleaned up", {"n": data["n"], "cancelled": context.cancelled,
                                               "reason": context.cancel_reason})
            raise
        return {"n": data["n"]}
"""

QUICK = """
    config = {"type": "event", "name": "Quick", "subscribes": [], "emits": []}

    async def handler(data, context):
        return {"echo": data}
"""

# A def handler cannot be interrupted: it stops at its next context call (which raises
# InvocationCancelledError, a BaseException, so `except Exception` does not swallow it).
SYNC_LOOP = """
    config = {"type": "event", "name": "SyncLoop", "subscribes": [], "emits": []}

    def handler(data, context):
        context.logger.info("started", {"n": data["n"]})
        try:
            while True:
                try:
                    context.state.get("loop", "k")
                except Exception:
                    pass  # must not catch the cancellation
                context.wait_cancelled(0.01)
        finally:
            context.logger.info("thread exiting", {"cancelled": context.cancelled})
"""

# A def handler that checks the flag instead of making calls.
SYNC_WAIT = """
    config = {"type": "event", "name": "SyncWait", "subscribes": [], "emits": []}

    def handler(data, context):
        context.logger.info("started", {"n": data["n"]})
        stopped = context.wait_cancelled(3600)
        context.logger.info("thread exiting", {"cancelled": stopped, "reason": context.cancel_reason})
        return {"never": "sent"}
"""

# An async handler behind a def middleware: the handler runs as a task the middleware's thread
# started, not in the invocation's own task.
PARKED_API = """
    import asyncio

    def sync_mw(req, ctx, next_fn):
        try:
            return next_fn()
        finally:
            ctx.logger.info("middleware exiting", {"cancelled": ctx.cancelled})

    config = {"type": "api", "name": "Parked", "path": "/parked", "method": "GET", "emits": [],
              "middleware": [sync_mw]}

    async def handler(req, context):
        context.logger.info("started", {"n": 0})
        await asyncio.sleep(3600)
"""

# Waits until the test opens the gate (state key gate/open), then answers.
GATED = """
    import asyncio

    config = {"type": "event", "name": "Gated", "subscribes": [], "emits": []}

    async def handler(data, context):
        context.logger.info("started", {"n": data["n"]})
        while not await context.state.get("gate", "open"):
            await asyncio.sleep(0.01)
        return {"n": data["n"]}
"""

RETRY = """
    import datetime
    from motia import NonRetryableError, RetryAfter

    config = {"type": "event", "name": "Retry", "subscribes": [], "emits": []}

    class Throttled(Exception):
        retry_after_ms = 700

    class Fatal(Exception):
        non_retryable = True

    async def handler(data, context):
        kind = data["kind"]
        if kind == "after":
            raise RetryAfter(2.5, message="slow down")
        if kind == "after-delta":
            raise RetryAfter(datetime.timedelta(minutes=1))
        if kind == "never":
            raise NonRetryableError("bad input")
        if kind == "duck-after":
            raise Throttled("busy")
        if kind == "duck-never":
            raise Fatal("no")
        raise ValueError("plain")
"""

SYNC_RETRY = """
    from motia import NonRetryableError, RetryAfter

    config = {"type": "event", "name": "SyncRetry", "subscribes": [], "emits": []}

    def handler(data, context):
        if data["kind"] == "after":
            raise RetryAfter(0.0001)
        raise NonRetryableError("nope")
"""

STEPS = {
    "steps/sleepy_step.py": SLEEPY,
    "steps/quick_step.py": QUICK,
    "steps/sync_loop_step.py": SYNC_LOOP,
    "steps/sync_wait_step.py": SYNC_WAIT,
    "steps/parked_step.py": PARKED_API,
    "steps/gated_step.py": GATED,
    "steps/retry_step.py": RETRY,
    "steps/sync_retry_step.py": SYNC_RETRY,
}


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[FakeCore]:
    for relative, source in STEPS.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    with tempfile.TemporaryDirectory(prefix="mr-") as socket_dir:  # short: unix socket paths are limited
        fake = FakeCore(f"{socket_dir}/core.sock", tmp_path)
        await fake.start()
        try:
            yield fake
        finally:
            await fake.stop()


async def _session(core: FakeCore) -> asyncio.subprocess.Process:
    proc = await core.spawn()
    await asyncio.wait_for(core.connected.wait(), 10)
    loaded = await core.load(*STEPS)
    assert not loaded.errors, loaded.errors
    return proc


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """Wait for the exit without closing stdin first (EOF on stdin means exit 1)."""
    assert proc.stderr is not None and proc.stdout is not None
    code = await asyncio.wait_for(proc.wait(), 20)
    await proc.stdout.read()
    stderr = await proc.stderr.read()
    if proc.stdin is not None:
        proc.stdin.close()
    return code, stderr.decode()


async def _shutdown(core: FakeCore, proc: asyncio.subprocess.Process) -> None:
    core.send(shutdown=pb.Shutdown(grace_ms=5000))
    code, stderr = await _finish(proc)
    assert code == 0, stderr


def _logged(core: FakeCore, message: str) -> list[dict[str, object]]:
    return [fields for _, text, fields in core.logs if text == message]


def _index(core: FakeCore, predicate: object) -> int:
    for index, message in enumerate(core.received):
        if callable(predicate) and predicate(message):
            return index
    raise AssertionError("no such envelope")


def _results_for(core: FakeCore, invocation_id: str) -> list[pb.InvocationResult]:
    return [
        m.result for m in core.received if m.WhichOneof("kind") == "result" and m.result.invocation_id == invocation_id
    ]


async def test_hello_announces_cancel_and_drain(core: FakeCore) -> None:
    proc = await _session(core)
    assert core.hello is not None and {"cancel", "drain"} <= set(core.hello.capabilities)
    await _shutdown(core, proc)


async def test_cancel_a_sleeping_async_handler(core: FakeCore) -> None:
    proc = await _session(core)
    invocation_id = uuid.uuid4().hex
    result = core.invoke("steps/sleepy_step.py", pb.TRIGGER_EVENT, {"n": 1}, invocation_id=invocation_id)
    await core.wait_for(lambda: bool(_logged(core, "started")))

    # Two Cancels in one frame: the second changes nothing.
    cancelled_future = core.cancel(invocation_id)
    core.cancel(invocation_id)
    cancelled = await asyncio.wait_for(cancelled_future, 10)
    assert cancelled.invocation_id == invocation_id and cancelled.fencing_token == 11
    # The handler's cleanup ran (it saw the flag) before the Cancelled went out.
    assert _logged(core, "cleaned up") == [{"n": 1, "cancelled": True, "reason": "timeout"}]
    assert _index(core, lambda m: m.call.log.message == "cleaned up") < _index(
        core, lambda m: m.WhichOneof("kind") == "cancelled"
    )

    # The slot is free and the runner goes on; no result ever came for the cancelled invocation.
    echo = await asyncio.wait_for(core.invoke("steps/quick_step.py", pb.TRIGGER_EVENT, {"a": 1}), 10)
    assert json.loads(echo.completed.payload_json) == {"echo": {"a": 1}}
    await core.ping(1)
    assert _results_for(core, invocation_id) == []
    assert [m.cancelled.invocation_id for m in core.received if m.WhichOneof("kind") == "cancelled"] == [invocation_id]
    assert not result.done()
    await _shutdown(core, proc)


async def test_cancel_of_an_unknown_or_finished_invocation_is_answered_at_once(core: FakeCore) -> None:
    proc = await _session(core)
    cancelled = await asyncio.wait_for(core.cancel("never-started", pb.Cancel.REASON_SHUTDOWN), 10)
    assert cancelled.invocation_id == "never-started" and cancelled.fencing_token == 0

    done_id = uuid.uuid4().hex
    await asyncio.wait_for(core.invoke("steps/quick_step.py", pb.TRIGGER_EVENT, 1, invocation_id=done_id), 10)
    cancelled = await asyncio.wait_for(core.cancel(done_id), 10)
    assert cancelled.invocation_id == done_id
    await _shutdown(core, proc)


@pytest.mark.parametrize("step_id", ["steps/sync_loop_step.py", "steps/sync_wait_step.py"])
async def test_cancel_a_def_handler_confirms_after_its_thread_returned(core: FakeCore, step_id: str) -> None:
    proc = await _session(core)
    invocation_id = uuid.uuid4().hex
    core.invoke(step_id, pb.TRIGGER_EVENT, {"n": 2}, invocation_id=invocation_id)
    await core.wait_for(lambda: bool(_logged(core, "started")))

    cancelled = await asyncio.wait_for(core.cancel(invocation_id), 10)
    assert cancelled.invocation_id == invocation_id and cancelled.fencing_token == 11
    # The thread logged on its way out before the Cancelled: it had returned when that was sent.
    [exiting] = _logged(core, "thread exiting")
    assert exiting["cancelled"] is True
    assert _index(core, lambda m: m.call.log.message == "thread exiting") < _index(
        core, lambda m: m.WhichOneof("kind") == "cancelled"
    )
    echo = await asyncio.wait_for(core.invoke("steps/quick_step.py", pb.TRIGGER_EVENT, 2), 10)
    assert echo.WhichOneof("outcome") == "completed"
    await core.ping(2)
    assert _results_for(core, invocation_id) == []
    await _shutdown(core, proc)


async def test_cancel_an_async_handler_behind_a_def_middleware(core: FakeCore) -> None:
    proc = await _session(core)
    invocation_id = uuid.uuid4().hex
    request: dict[str, object] = {"body": None, "headers": {}, "pathParams": {}, "queryParams": {}, "rawBody": ""}
    core.invoke("steps/parked_step.py", pb.TRIGGER_API, request, invocation_id=invocation_id)
    await core.wait_for(lambda: bool(_logged(core, "started")))

    cancelled = await asyncio.wait_for(core.cancel(invocation_id), 10)
    assert cancelled.invocation_id == invocation_id
    assert _logged(core, "middleware exiting") == [{"cancelled": True}]
    assert _index(core, lambda m: m.call.log.message == "middleware exiting") < _index(
        core, lambda m: m.WhichOneof("kind") == "cancelled"
    )
    await core.ping(3)
    assert _results_for(core, invocation_id) == []
    await _shutdown(core, proc)


async def test_sigterm_drains_the_work_in_flight_then_exits_0(core: FakeCore) -> None:
    proc = await _session(core)
    first = core.invoke("steps/gated_step.py", pb.TRIGGER_EVENT, {"n": 1})
    second = core.invoke("steps/gated_step.py", pb.TRIGGER_EVENT, {"n": 2})
    await core.wait_for(lambda: len(_logged(core, "started")) == 2)

    proc.send_signal(signal.SIGTERM)
    await core.wait_for(lambda: "draining" in core.kinds())
    [draining] = [m.draining for m in core.received if m.WhichOneof("kind") == "draining"]
    assert draining.reason == "SIGTERM"

    # No new work; a second SIGTERM and the core's Shutdown (even with no grace) change nothing.
    refused = await asyncio.wait_for(core.invoke("steps/quick_step.py", pb.TRIGGER_EVENT, 3), 10)
    assert refused.failed.kind == pb.FAILURE_KIND_SHUTTING_DOWN
    proc.send_signal(signal.SIGTERM)
    core.send(shutdown=pb.Shutdown(grace_ms=0))
    await core.ping(4)
    assert not first.done() and not second.done()

    core.state[("gate", "open")] = b"true"
    results = await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert [json.loads(r.completed.payload_json) for r in results] == [{"n": 1}, {"n": 2}]
    draining_at = core.kinds().index("draining")
    assert all(_index(core, lambda m, r=r: m.result.invocation_id == r.invocation_id) > draining_at for r in results)
    code, stderr = await _finish(proc)
    assert code == 0, stderr
    assert "SIGTERM" in stderr


async def test_sigterm_with_nothing_in_flight_exits_0(core: FakeCore) -> None:
    proc = await _session(core)
    proc.send_signal(signal.SIGTERM)
    code, stderr = await _finish(proc)
    assert code == 0, stderr
    assert core.kinds().count("draining") == 1


async def test_sigterm_before_the_welcome_exits_0_at_once(core: FakeCore) -> None:
    core.answer_hello = False
    proc = await core.spawn()
    await asyncio.wait_for(core.connected.wait(), 10)  # Hello arrived: the runner handles SIGTERM by now
    proc.send_signal(signal.SIGTERM)
    code, stderr = await _finish(proc)
    assert code == 0, stderr
    assert "SIGTERM before the core's Welcome" in stderr and "draining" not in core.kinds()


async def test_retry_hints_map_to_failed_fields(core: FakeCore) -> None:
    proc = await _session(core)

    async def failed(step: str, kind: str) -> pb.Failed:
        result = await asyncio.wait_for(core.invoke(step, pb.TRIGGER_EVENT, {"kind": kind}), 10)
        assert result.WhichOneof("outcome") == "failed"
        assert result.failed.kind == pb.FAILURE_KIND_HANDLER_ERROR
        failure: pb.Failed = result.failed
        return failure

    after = await failed("steps/retry_step.py", "after")
    assert (after.error_type, after.message, after.retry_after_ms, after.non_retryable) == (
        "RetryAfter",
        "slow down",
        2500,
        False,
    )
    assert "retry_step.py" in after.stack
    assert (await failed("steps/retry_step.py", "after-delta")).retry_after_ms == 60_000
    never = await failed("steps/retry_step.py", "never")
    assert (never.error_type, never.message, never.non_retryable, never.retry_after_ms) == (
        "NonRetryableError",
        "bad input",
        True,
        0,
    )
    assert (await failed("steps/retry_step.py", "duck-after")).retry_after_ms == 700
    assert (await failed("steps/retry_step.py", "duck-never")).non_retryable is True
    plain = await failed("steps/retry_step.py", "plain")
    assert (plain.error_type, plain.retry_after_ms, plain.non_retryable) == ("ValueError", 0, False)

    assert (await failed("steps/sync_retry_step.py", "after")).retry_after_ms == 1  # never rounds to "default"
    assert (await failed("steps/sync_retry_step.py", "never")).non_retryable is True
    await _shutdown(core, proc)
