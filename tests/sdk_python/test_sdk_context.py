"""The context over a sink: JSON, threads, eagerness, errors, logger fields, streams."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from motia import CallError, CallErrorCode, Context, NotJsonError, StreamNotDeclaredError, Streams
from motia.testing import InMemorySink
from motia.transport import CallRequest, EmitCall, LogLevel, StateGetCall


def _context(sink: InMemorySink | None = None, **kwargs: Any) -> tuple[Context, InMemorySink]:
    sink = sink if sink is not None else InMemorySink()
    return Context(trace_id="ABCDE-1234567", flows=["f"], sink=sink, **kwargs), sink


async def test_attributes() -> None:
    ctx, _ = _context()
    assert ctx.trace_id == ctx.traceId == "ABCDE-1234567"
    assert ctx.flows == ["f"]
    ctx.user = "middleware may add attributes"  # type: ignore[attr-defined]


async def test_state_returns_values_as_stored() -> None:
    ctx, _ = _context()
    assert await ctx.state.get("g", "missing") is None
    assert await ctx.state.set("g", "k", {"a": [1, 2]}) == {"a": [1, 2]}
    assert await ctx.state.get("g", "k") == {"a": [1, 2]}  # not wrapped in {"data": ...}
    await ctx.state.set("g", "s", "text")
    assert await ctx.state.get("g", "s") == "text"
    assert sorted(await ctx.state.get_group("g"), key=str) == sorted([{"a": [1, 2]}, "text"], key=str)
    assert await ctx.state.getGroup("g") == await ctx.state.get_group("g")
    assert await ctx.state.delete("g", "s") == "text"
    assert await ctx.state.delete("g", "s") is None
    assert await ctx.state.clear("g") is None
    assert await ctx.state.get_group("g") == []


async def test_calls_are_sent_eagerly_and_need_no_await() -> None:
    ctx, sink = _context()
    ctx.emit({"topic": "a", "data": {"x": 1}})  # never awaited: still sent, no warning
    ctx.state.set("g", "k", 1)
    assert [type(call) for call in sink.calls] == [EmitCall, type(sink.calls[1])]
    assert sink.emits == [{"topic": "a", "data": {"x": 1}}]


async def test_pending_calls_work_with_gather_and_create_task() -> None:
    ctx, _ = _context()
    await ctx.state.set("g", "k", 5)
    task = asyncio.create_task(ctx.state.get("g", "k"))
    both = await asyncio.gather(ctx.state.get("g", "k"), ctx.state.get("g", "nope"))
    assert await task == 5 and list(both) == [5, None]
    assert await asyncio.wait_for(ctx.state.get("g", "k"), 1) == 5


async def test_emit_message_group_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, sink = _context()
    await ctx.emit({"topic": "t", "data": None, "messageGroupId": "g1"})
    assert sink.emits == [{"topic": "t", "data": None, "messageGroupId": "g1"}]
    monkeypatch.setenv("MOTIA_STRICT", "1")  # lenient by default: tests/test_lenient.py
    with pytest.raises(TypeError, match="non-empty string"):
        ctx.emit({"data": 1})
    with pytest.raises(TypeError, match="needs a dict"):
        ctx.emit(["t"])  # type: ignore[arg-type]
    with pytest.raises(NotJsonError, match="set"):
        ctx.emit({"topic": "t", "data": {1, 2}})


async def test_calls_from_a_worker_thread_block_and_return_values() -> None:
    ctx, sink = _context()
    seen: dict[str, Any] = {}

    def blocking() -> None:
        assert ctx.state.set("g", "k", [1]) == [1]
        seen["value"] = ctx.state.get("g", "k")
        seen["emit"] = ctx.emit({"topic": "t", "data": 1})
        ctx.logger.info("from thread", {"n": 1})
        seen["thread"] = threading.current_thread() is not threading.main_thread()

    await asyncio.get_running_loop().run_in_executor(None, blocking)
    await asyncio.sleep(0)  # the log line is handed to the loop with call_soon_threadsafe
    assert seen == {"value": [1], "emit": None, "thread": True}
    assert sink.logs[-1].message == "from thread" and sink.logs[-1].fields == {"n": 1}


async def test_a_loop_inside_a_worker_thread_gets_awaitables() -> None:
    ctx, _ = _context()
    await ctx.state.set("g", "k", "v")

    def nested_loop() -> Any:
        return asyncio.run(_get(ctx))

    assert await asyncio.get_running_loop().run_in_executor(None, nested_loop) == "v"


async def _get(ctx: Context) -> Any:
    return await ctx.state.get("g", "k")


async def test_call_errors_carry_the_core_message_and_code() -> None:
    def refuse(request: CallRequest) -> None:
        if isinstance(request, StateGetCall):
            raise CallError("backend down", CallErrorCode.UNAVAILABLE, "state.get")

    ctx, _ = _context(InMemorySink(on_call=refuse))
    with pytest.raises(CallError, match="backend down") as info:
        await ctx.state.get("g", "k")
    assert info.value.code is CallErrorCode.UNAVAILABLE

    def in_thread() -> None:
        with pytest.raises(CallError, match="backend down"):
            ctx.state.get("g", "k")

    await asyncio.get_running_loop().run_in_executor(None, in_thread)


async def test_logger_fields() -> None:
    ctx, sink = _context()
    ctx.logger.info("plain")
    ctx.logger.debug("dict", {"a": 1, "nested": {"b": [1]}})
    ctx.logger.warn("scalar", 42)
    ctx.logger.warning("list", [1, 2])
    try:
        raise ValueError("boom")
    except ValueError as exc:
        ctx.logger.error("failed", {"error": exc})
        ctx.logger.error("bare", exc)
    ctx.logger.info("odd", {"when": object})
    logs = sink.logs
    assert [(log.level, log.message) for log in logs[:4]] == [
        ("info", "plain"),
        ("debug", "dict"),
        ("warn", "scalar"),
        ("warn", "list"),
    ]
    assert logs[0].fields == {}
    assert logs[1].fields == {"a": 1, "nested": {"b": [1]}}
    assert logs[2].fields == {"data": 42} and logs[3].fields == {"data": [1, 2]}
    error = logs[4].fields["error"]
    assert error["name"] == "ValueError" and error["message"] == "boom" and "raise ValueError" in error["stack"]
    assert logs[5].fields["data"]["name"] == "ValueError"
    assert "object" in logs[6].fields["when"]  # unknown values are logged by repr, never raise
    assert all(log.time_unix_ms > 0 for log in logs)


async def test_logger_levels_map_to_the_wire() -> None:
    assert [level.value for level in LogLevel] == [1, 2, 3, 4]


async def test_streams_of_an_explicit_mapping_are_the_only_ones() -> None:
    ctx, _ = _context(streams=Streams({}))  # without a mapping every name is a remote stream (test_streams_sdk.py)
    with pytest.raises(StreamNotDeclaredError, match="stream 'todos' is not declared in this project"):
        _ = ctx.streams.todos
    with pytest.raises(StreamNotDeclaredError, match="stream 'todos' is not declared in this project"):
        _ = ctx.streams["todos"]
    assert not hasattr(ctx.streams, "todos")
    assert "todos" not in ctx.streams and len(ctx.streams) == 0


async def test_streams_hook_hands_out_declared_streams() -> None:
    marker = object()
    ctx, _ = _context(streams=Streams({"todos": marker}))
    assert ctx.streams.todos is marker and ctx.streams["todos"] is marker and list(ctx.streams) == ["todos"]


async def test_a_coroutine_returning_sink_is_supported() -> None:
    class AsyncSink:
        def __init__(self) -> None:
            self.requests: list[CallRequest] = []

        async def call(self, request: CallRequest) -> bytes:
            self.requests.append(request)
            return b'"pong"'

        def log(self, record: object) -> None:
            pass

    sink = AsyncSink()
    ctx = Context(trace_id="t", flows=[], sink=sink)
    assert await ctx.state.get("g", "k") == "pong"
    assert len(sink.requests) == 1
