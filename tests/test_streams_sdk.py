"""The Python SDK's ctx.streams over a sink, the wire encoding of stream calls, and the test helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from motia import CallError, Context, Stream, Streams
from motia.testing import InMemorySink, StepTestEnvironment
from motia.transport import StreamDeleteCall, StreamGetCall, StreamGetGroupCall, StreamSendCall, StreamSetCall
from motia_runner.calls import CallRouter


def _context() -> tuple[Context, InMemorySink]:
    sink = InMemorySink()
    return Context(trace_id="ABCDE-1234567", flows=[], sink=sink), sink


async def test_every_name_is_a_remote_stream() -> None:
    ctx, sink = _context()
    todos = ctx.streams.todos
    assert isinstance(todos, Stream) and ctx.streams["todos"] is todos and "todos" in ctx.streams
    assert await todos.get("g", "1") is None
    assert await todos.set("g", "1", {"text": "a"}) == {"text": "a", "id": "1"}
    assert await todos.set("g", "2", {"text": "b", "id": "ignored"}) == {"text": "b", "id": "2"}
    assert await todos.get_group("g") == [{"text": "a", "id": "1"}, {"text": "b", "id": "2"}]
    assert await todos.getGroup("g") == await todos.get_group("g")
    assert await todos.delete("g", "1") == {"text": "a", "id": "1"}
    assert await todos.send({"groupId": "g", "id": "2"}, {"type": "ping", "data": [1]}) is None
    assert sink.streams.sent == [("todos", {"groupId": "g", "id": "2"}, {"type": "ping", "data": [1]})]
    assert [type(c) for c in sink.calls] == [
        StreamGetCall,
        StreamSetCall,
        StreamSetCall,
        StreamGetGroupCall,
        StreamGetGroupCall,
        StreamGetGroupCall,
        StreamDeleteCall,
        StreamSendCall,
    ]


async def test_argument_errors_are_raised_at_once() -> None:
    ctx, _ = _context()
    with pytest.raises(TypeError, match="takes a dict"):
        ctx.streams.todos.set("g", "1", [1])
    with pytest.raises(TypeError, match="groupId"):
        ctx.streams.todos.send({"id": "1"}, {"type": "x"})
    with pytest.raises(TypeError, match="type"):
        ctx.streams.todos.send({"groupId": "g"}, {"data": 1})


async def test_def_handlers_get_values_from_a_worker_thread() -> None:
    ctx, _ = _context()

    def work() -> Any:
        ctx.streams.todos.set("g", "1", {"n": 1})
        return ctx.streams.todos.get("g", "1")

    assert await asyncio.to_thread(work) == {"n": 1, "id": "1"}


async def test_step_test_environment_records_stream_writes() -> None:
    async def handler(req: Any, ctx: Any) -> dict[str, Any]:
        item = await ctx.streams.todo.set("g", req["body"]["id"], {"text": req["body"]["text"]})
        await ctx.streams.todo.send({"groupId": "g"}, {"type": "created", "data": item})
        return {"status": 200, "body": item}

    env = StepTestEnvironment()
    result = await env.run_api(handler, body={"id": "7", "text": "hi"})
    assert result == {"status": 200, "body": {"text": "hi", "id": "7"}}
    assert env.streams.get("todo", "g", "7") == {"text": "hi", "id": "7"}
    assert env.streams.sent == [("todo", {"groupId": "g"}, {"type": "created", "data": {"text": "hi", "id": "7"}})]
    limited = StepTestEnvironment(streams={"todo": object()})
    assert "todo" in limited.context().streams and "other" not in limited.context().streams


async def test_stream_calls_on_the_wire() -> None:
    sent: list[Any] = []

    class Outbox:
        def put(self, message: Any) -> None:
            sent.append(message)

    router = CallRouter(Outbox(), 1024)  # type: ignore[arg-type]
    ctx = Context(trace_id="T", flows=[], sink=_Sink(router))
    ctx.streams.todo.set("g", "1", {"a": 1})
    ctx.streams.todo.get("g", "1")
    ctx.streams.todo.delete("g", "1")
    ctx.streams.todo.get_group("g")
    ctx.streams.todo.send({"groupId": "g"}, {"type": "t", "data": None})
    ops = [m.call.WhichOneof("op") for m in sent]
    assert ops == ["stream_set", "stream_get", "stream_delete", "stream_get_group", "stream_send"]
    assert (sent[0].call.stream_set.stream, sent[0].call.stream_set.id, sent[0].call.stream_set.data_json) == (
        "todo",
        "1",
        b'{"a":1}',
    )
    assert (sent[4].call.stream_send.id, sent[4].call.stream_send.type, sent[4].call.stream_send.data_json) == (
        "",
        "t",
        b"null",
    )
    with pytest.raises(CallError, match="streams.set"):
        ctx.streams.todo.set("g", "1", {"pad": "x" * 2000})
    router.close("test over")


class _Sink:
    def __init__(self, router: CallRouter) -> None:
        self.router = router

    def call(self, request: Any) -> Any:
        return self.router.call("inv-1", request)

    def log(self, record: Any) -> None:
        pass


def test_explicit_streams_mapping_is_closed() -> None:
    streams = Streams({"a": 1})
    assert "a" in streams and "b" not in streams and list(streams) == ["a"]
