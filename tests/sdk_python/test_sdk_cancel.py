"""Cancellation in the SDK (context flag, HandlerScope) and the retry-hint exceptions.

Nothing here asserts a duration: threads are coordinated with events, never with sleeps.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from motia import (
    Context,
    FlowContext,
    InvocationCancelledError,
    MotiaError,
    NonRetryableError,
    RetryAfter,
    SyncFlowContext,
)
from motia._execution import HandlerScope, StepCallable, Trigger, run_handler
from motia.testing import InMemorySink, StepTestEnvironment
from motia.transport import CallRequest, LogRecord, StateGetCall
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_runner.calls import CallRouter
from motia_runner.invocations import retry_hints
from motia_runner.outbox import Outbox


def _context(sink: InMemorySink | None = None) -> tuple[Context, InMemorySink]:
    sink = sink if sink is not None else InMemorySink()
    return Context(trace_id="ABCDE-1234567", flows=["f"], sink=sink), sink


# -- the context ----------------------------------------------------------------------------------


async def test_cancel_flags_the_context_and_calls_raise() -> None:
    ctx, sink = _context()
    assert not ctx.cancelled and not ctx.is_cancelled() and ctx.cancel_reason is None
    ctx.raise_if_cancelled()
    await ctx.state.set("g", "k", 1)

    ctx.cancel("timeout")
    ctx.cancel("shutdown")  # the first reason stays
    assert ctx.cancelled and ctx.is_cancelled() and ctx.cancel_reason == "timeout"
    assert ctx.wait_cancelled(0)
    for call in (
        lambda: ctx.state.get("g", "k"),
        lambda: ctx.emit({"topic": "t", "data": 1}),
        lambda: ctx.streams.todo.get("g", "i"),
        ctx.raise_if_cancelled,
    ):
        with pytest.raises(InvocationCancelledError, match=r"cancelled \(timeout\)") as info:
            call()
        assert info.value.reason == "timeout"
    assert len(sink.calls) == 1  # nothing after the cancel reached the sink
    ctx.logger.info("still logs")  # logging never raises
    assert sink.logs[-1].message == "still logs"


def test_invocation_cancelled_is_not_an_exception() -> None:
    # `except Exception` in a handler must not swallow it; asyncio code sees a normal cancellation.
    assert issubclass(InvocationCancelledError, asyncio.CancelledError)
    assert not issubclass(InvocationCancelledError, Exception)


async def test_a_def_handler_stops_at_its_next_call_and_wait_cancelled_wakes_up() -> None:
    ctx, _ = _context()
    started = threading.Event()
    seen: dict[str, Any] = {}

    def handler() -> None:
        started.set()
        seen["woke"] = ctx.wait_cancelled(60)
        try:
            ctx.state.get("g", "k")
        except Exception:  # proving that it does NOT catch the cancellation
            seen["swallowed"] = True
        finally:
            seen["finally"] = True

    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(None, handler)
    await loop.run_in_executor(None, started.wait)
    ctx.cancel("timeout")
    with pytest.raises(InvocationCancelledError):
        await work
    assert seen == {"woke": True, "finally": True}


async def test_the_readme_recipe_for_testing_a_def_handler() -> None:
    rows: list[int] = []

    def handler(data: Any, context: SyncFlowContext) -> None:
        for row in range(3):
            context.raise_if_cancelled()
            rows.append(row)

    env = StepTestEnvironment()
    ctx = env.context()
    ctx.cancel("timeout")
    with pytest.raises(InvocationCancelledError):
        await asyncio.to_thread(handler, {}, ctx)
    assert rows == []


async def test_a_call_blocked_in_a_thread_fails_when_the_router_cancels_it() -> None:
    """The runner path: the pending call's future is failed, the waiting thread gets the error."""
    frames: list[bytes] = []

    async def write(frame: bytes) -> None:
        frames.append(frame)

    router = CallRouter(Outbox(write), max_payload_bytes=1 << 20)
    called = asyncio.Event()

    class Sink:
        def call(self, request: CallRequest) -> asyncio.Future[bytes]:
            called.set()
            return router.call("inv-1", request)

        def log(self, record: LogRecord) -> None:
            pass

    ctx = Context(trace_id="T", flows=[], sink=Sink())
    other = router.call("inv-2", StateGetCall("g", "k"))
    loop = asyncio.get_running_loop()
    blocked = loop.run_in_executor(None, lambda: ctx.state.get("g", "k"))
    await called.wait()  # the thread's call reached the router
    assert router.pending == 2
    ctx.cancel("timeout")
    assert router.cancel_invocation("inv-1", "timeout") == 1
    with pytest.raises(InvocationCancelledError, match="timeout"):
        await blocked
    assert router.pending == 1 and not other.done()  # another invocation's call is untouched
    router.resolve(pb.CallReply(request_id=2, value_json=b"1"))  # a late reply is dropped


# -- the scope ------------------------------------------------------------------------------------


async def test_scope_waits_for_the_thread_and_starts_no_new_piece() -> None:
    ctx, _ = _context()
    scope = HandlerScope()
    release = threading.Event()
    entered = threading.Event()
    ran: list[str] = []

    def handler(data: Any, context: Context) -> str:
        entered.set()
        release.wait(60)
        ran.append("handler")
        return "done"

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(run_handler(Trigger.EVENT, StepCallable.of(handler), 1, ctx, scope=scope))
    await loop.run_in_executor(None, entered.wait)
    assert not scope.idle
    scope.stop("timeout")
    task.cancel()
    stopped = asyncio.ensure_future(scope.wait_stopped())
    await asyncio.sleep(0)
    assert not stopped.done()  # the thread is still in the handler
    release.set()
    await stopped
    assert ran == ["handler"] and scope.idle
    with pytest.raises(asyncio.CancelledError):
        await task

    # A stopped scope runs no more user code: a def piece raises before it starts.
    with pytest.raises(InvocationCancelledError, match="timeout"):
        await run_handler(Trigger.EVENT, StepCallable.of(handler), 1, ctx, scope=scope)
    assert ran == ["handler"]


async def test_scope_cancels_async_code_run_from_a_def_middleware() -> None:
    ctx, _ = _context()
    scope = HandlerScope()
    started = asyncio.Event()
    log: list[str] = []

    def sync_mw(req: Any, context: Any, next_fn: Any) -> Any:
        try:
            return next_fn()
        except Exception:  # must not see the cancellation as an Exception
            log.append("swallowed")
            return None
        finally:
            log.append("mw exits")

    async def handler(req: Any, context: Any) -> Any:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            log.append("handler cleaned up")

    with ThreadPoolExecutor(max_workers=2) as pool:
        task = asyncio.ensure_future(
            run_handler(
                Trigger.API,
                StepCallable.of(handler),
                {},
                ctx,
                middleware=[StepCallable.of(sync_mw)],
                executor=pool,
                scope=scope,
            )
        )
        await started.wait()
        scope.stop()
        task.cancel()
        await scope.wait_stopped()
        assert log == ["handler cleaned up", "mw exits"]
        with pytest.raises(asyncio.CancelledError):
            await task


# -- retry hints ----------------------------------------------------------------------------------


def test_retry_after() -> None:
    hint = RetryAfter(2.5, message="slow down")
    assert isinstance(hint, MotiaError) and isinstance(hint, Exception)
    assert (hint.seconds, hint.retry_after_ms, hint.message, str(hint)) == (2.5, 2500, "slow down", "slow down")
    assert RetryAfter(datetime.timedelta(minutes=2)).retry_after_ms == 120_000
    assert str(RetryAfter(3)) == "retry after 3s"
    assert RetryAfter(0.0001).retry_after_ms == 1  # a positive delay never becomes "the default"
    assert RetryAfter(0).retry_after_ms == 0
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds"):
            RetryAfter(bad)


def test_non_retryable_error() -> None:
    error = NonRetryableError("bad input")
    assert isinstance(error, MotiaError) and error.non_retryable is True and str(error) == "bad input"


def test_retry_hints_fill_the_failed_fields() -> None:
    def hints(exc: BaseException) -> tuple[int, bool]:
        failed = pb.Failed()
        retry_hints(failed, exc)
        return failed.retry_after_ms, failed.non_retryable

    class Throttled(Exception):
        retry_after_ms = 700

    class Weird(Exception):
        retry_after_ms = "soon"
        non_retryable = "yes"  # only True counts

    assert hints(RetryAfter(1.5)) == (1500, False)
    assert hints(NonRetryableError("x")) == (0, True)
    assert hints(Throttled()) == (700, False)

    class Fractional(Exception):
        retry_after_ms = 0.25

    assert hints(Fractional()) == (1, False)
    assert hints(Weird()) == (0, False)
    assert hints(ValueError()) == (0, False)


def test_the_context_types_describe_cancellation() -> None:
    def sync_handler(data: Any, ctx: SyncFlowContext) -> bool:
        return ctx.cancelled or ctx.is_cancelled() or ctx.wait_cancelled(0) or ctx.cancel_reason is not None

    async def async_handler(data: Any, ctx: FlowContext) -> bool:
        ctx.raise_if_cancelled()
        return ctx.cancelled

    assert callable(sync_handler) and callable(async_handler)
