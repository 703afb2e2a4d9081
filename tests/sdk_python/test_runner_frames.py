"""The outbox's hand-built frames, response bodies sent as tails, and the lazily built context."""

from __future__ import annotations

import asyncio
import threading

import orjson
import pytest

from motia import Context
from motia._execution import StepCallable
from motia.transport import CallRequest, LogRecord
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_runner.calls import CallRouter
from motia_runner.invocations import Invocations
from motia_runner.loader import LoadedStep
from motia_runner.outbox import Outbox
from motia_runner.wire import TAIL_MIN_BYTES, body_tail, frame_entry, varint


class _Wire:
    """grpc's side of the outbox: the bytes it would send, as the core decodes them."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def write(self, frame: bytes) -> None:
        assert isinstance(frame, bytes)  # grpc sends it as is: the channel has no serializer
        self.raw.append(frame)

    @property
    def messages(self) -> list[pb.RunnerMessage]:
        return [m for raw in self.raw for m in pb.RunnerFrame.FromString(raw).messages]


def _http_result(body_length: int) -> tuple[pb.RunnerMessage, bytes]:
    """A result envelope without its body, and the body (every byte value, so nothing is decoded)."""
    message = pb.RunnerMessage()
    message.result.invocation_id = "inv-1"
    message.result.fencing_token = 9
    http = message.result.completed.http_response
    http.SetInParent()
    http.status = 201
    http.headers_json = b'{"x-a":"b"}'
    http.body_kind = pb.HttpResponse.BODY_KIND_BINARY
    return message, (bytes(range(256)) * (body_length // 256 + 1))[:body_length]


@pytest.mark.parametrize("length", [1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 3_000_001])
def test_varint_and_entry_match_protobuf(length: int) -> None:
    frame = pb.RunnerFrame()
    frame.messages.add().pong.nonce = 5
    envelope = frame.messages[0].SerializeToString()
    assert frame_entry(len(envelope)) + envelope == frame.SerializeToString()
    # The varint protobuf writes for a bytes field of that length, after the key byte.
    response = pb.HttpResponse(body=b"\0" * length).SerializeToString()
    assert response[: 1 + len(varint(length))] == b"\x1a" + varint(length)


@pytest.mark.parametrize("length", [1, 127, 128, 16_383, 16_384, 1_000_000, 2_097_152])
def test_a_body_tail_decodes_as_the_same_envelope(length: int) -> None:
    message, body = _http_result(length)
    envelope = message.SerializeToString() + body_tail(len(body)) + body
    expected = pb.RunnerMessage()
    expected.CopyFrom(message)
    expected.result.completed.http_response.body = body
    decoded = pb.RunnerMessage.FromString(envelope)
    assert decoded == expected
    assert decoded.result.completed.http_response.body == body
    assert decoded.result.invocation_id == "inv-1" and decoded.result.completed.http_response.status == 201


async def test_frames_carry_every_envelope_once_and_in_order() -> None:
    wire = _Wire()
    outbox = Outbox(wire.write)
    big, body = _http_result(300_000)
    for nonce in range(3):
        outbox.put(pb.RunnerMessage(pong=pb.Pong(nonce=nonce)))
    outbox.put_parts((big.SerializeToString(), body_tail(len(body)), body))
    outbox.put(pb.RunnerMessage(pong=pb.Pong(nonce=3)))
    outbox.close()
    await outbox.run()
    assert len(wire.raw) == 1
    kinds = [m.WhichOneof("kind") for m in wire.messages]
    assert kinds == ["pong", "pong", "pong", "result", "pong"]
    assert [m.pong.nonce for m in wire.messages if m.HasField("pong")] == [0, 1, 2, 3]
    assert wire.messages[3].result.completed.http_response.body == body


async def test_a_batch_with_tails_is_split_at_the_frame_limit() -> None:
    wire = _Wire()
    outbox = Outbox(wire.write, max_frame_bytes=100_000)
    bodies = []
    for index in range(5):
        message, body = _http_result(30_000 + index)
        bodies.append(body)
        outbox.put_parts((message.SerializeToString(), body_tail(len(body)), body))
    outbox.close()
    await outbox.run()
    assert len(wire.raw) > 1
    assert all(len(raw) <= 100_000 for raw in wire.raw)
    assert [m.result.completed.http_response.body for m in wire.messages] == bodies


async def _answer(handler_result: object, binary: bool) -> pb.RunnerMessage:
    """Run one API invocation through ``Invocations`` and decode its answer as the core would."""
    wire = _Wire()
    outbox = Outbox(wire.write)
    router = CallRouter(outbox, 64 << 20)

    async def handler(req: object, ctx: object) -> object:
        return handler_result

    step = LoadedStep("s", "/s.py", "s", {}, b"{}", StepCallable.of(handler), ())
    invocations = Invocations({"s": step}, router, outbox, None, 64 << 20)
    start = pb.StartInvocation(invocation_id="inv-7", step_id="s", trigger=pb.TRIGGER_API, fencing_token=3)
    start.payload_json = b'{"headers":{},"pathParams":{},"queryParams":{}}'
    start.http_body.raw = b"\x00\xff" if binary else b"{}"
    start.http_body.encoding = (
        pb.HttpRequestBody.BODY_ENCODING_BINARY if binary else pb.HttpRequestBody.BODY_ENCODING_JSON
    )
    invocations.start(start)
    assert await invocations.drain(10) == 0
    outbox.close()
    await outbox.run()
    (message,) = wire.messages
    return message


@pytest.mark.parametrize("length", [0, TAIL_MIN_BYTES - 1, TAIL_MIN_BYTES, 1_500_000])
async def test_binary_responses_of_any_size_arrive_intact(length: int) -> None:
    body = (bytes(range(256)) * (length // 256 + 1))[:length]
    message = await _answer({"status": 202, "headers": {"x-k": "v"}, "body": body}, binary=True)
    result = message.result
    assert result.invocation_id == "inv-7" and result.fencing_token == 3
    http = result.completed.http_response
    assert result.completed.HasField("http_response")
    assert (http.status, http.headers_json, http.body_kind) == (202, b'{"x-k":"v"}', pb.HttpResponse.BODY_KIND_BINARY)
    assert http.body == body


async def test_a_large_json_response_is_encoded_once_and_arrives_intact() -> None:
    value = {"data": "é" * 100_000, "n": [1, 2, 3]}
    message = await _answer({"status": 200, "body": value}, binary=False)
    http = message.result.completed.http_response
    assert http.body_kind == pb.HttpResponse.BODY_KIND_JSON
    assert len(http.body) >= TAIL_MIN_BYTES  # went as a tail
    assert orjson.loads(http.body) == value


async def test_a_bare_status_still_sends_an_http_response() -> None:
    message = await _answer({"status": 200}, binary=False)
    completed = message.result.completed
    assert completed.HasField("http_response") and completed.http_response.status == 200
    assert completed.http_response.body_kind == pb.HttpResponse.BODY_KIND_NONE


# -- the context, built lazily ---------------------------------------------------------------------


class _Sink:
    def call(self, request: CallRequest) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        future.set_result(b"null")
        return future

    def log(self, record: LogRecord) -> None:
        pass


async def test_context_parts_are_made_once_and_can_be_replaced() -> None:
    ctx = Context(trace_id="T", flows=["f"], sink=_Sink())
    assert "logger" not in vars(ctx) and "state" not in vars(ctx)  # nothing built before use
    assert ctx.logger is ctx.logger and ctx.state is ctx.state and ctx.streams is ctx.streams
    replacement = object()
    ctx.state = replacement  # type: ignore[assignment]  # tests and middleware may swap a part
    assert ctx.state is replacement
    fresh = Context(trace_id="T", flows=[], sink=_Sink())
    assert await fresh.state.get("g", "k") is None


async def test_a_thread_waiting_before_the_cancel_wakes_up_with_the_reason() -> None:
    ctx = Context(trace_id="T", flows=[], sink=_Sink())
    waiting = threading.Event()
    seen: dict[str, object] = {}

    def wait() -> None:
        waiting.set()
        seen["woke"] = ctx.wait_cancelled(60)
        seen["reason"] = ctx.cancel_reason

    thread = threading.Thread(target=wait)
    thread.start()
    await asyncio.to_thread(waiting.wait, 10)
    assert not ctx.cancelled and ctx.cancel_reason is None
    ctx.cancel("timeout")
    ctx.cancel("shutdown")  # the first reason stays
    await asyncio.to_thread(thread.join, 10)
    assert seen == {"woke": True, "reason": "timeout"}
    assert ctx.cancelled and ctx.is_cancelled() and ctx.wait_cancelled(0)


async def test_wait_cancelled_times_out_while_not_cancelled() -> None:
    ctx = Context(trace_id="T", flows=[], sink=_Sink())
    assert await asyncio.to_thread(ctx.wait_cancelled, 0.05) is False
    ctx.cancel()
    assert ctx.cancel_reason == "cancelled" and await asyncio.to_thread(ctx.wait_cancelled, 0.05) is True
