"""The batching writer and the call router, without a real stream."""

from __future__ import annotations

import asyncio

import pytest

from motia import CallError, CallErrorCode
from motia.transport import EmitCall, LogLevel, LogRecord, StateGetCall, StateSetCall
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_runner.calls import CallRouter
from motia_runner.outbox import Outbox


class _Stream:
    def __init__(self, delay: float = 0.0) -> None:
        self.frames: list[pb.RunnerFrame] = []
        self.delay = delay

    async def write(self, frame: bytes) -> None:
        await asyncio.sleep(self.delay)
        self.frames.append(pb.RunnerFrame.FromString(frame))  # the outbox hands grpc bytes


def _pong(nonce: int) -> pb.RunnerMessage:
    message = pb.RunnerMessage()
    message.pong.nonce = nonce
    return message


async def test_everything_queued_between_writes_goes_out_as_one_frame() -> None:
    stream = _Stream(delay=0.01)
    outbox = Outbox(stream.write)
    writer = asyncio.create_task(outbox.run())
    outbox.put(_pong(0))
    await asyncio.sleep(0.001)  # the writer is now inside write()
    for nonce in range(1, 201):
        outbox.put(_pong(nonce))
    await outbox.flush()
    outbox.close()
    await writer
    assert [len(frame.messages) for frame in stream.frames] == [1, 200]
    assert [m.pong.nonce for frame in stream.frames for m in frame.messages] == list(range(201))


async def test_a_batch_above_the_frame_limit_is_split() -> None:
    stream = _Stream()
    outbox = Outbox(stream.write, max_frame_bytes=1000)
    for nonce in range(100):
        message = pb.RunnerMessage()
        message.call.log.message = "x" * 90
        message.call.request_id = nonce
        outbox.put(message)
    outbox.close()
    await outbox.run()
    assert len(stream.frames) > 1
    assert all(frame.ByteSize() <= 1000 for frame in stream.frames)
    assert sum(len(frame.messages) for frame in stream.frames) == 100


async def test_calls_get_ids_and_replies_resolve_them() -> None:
    stream = _Stream()
    outbox = Outbox(stream.write)
    router = CallRouter(outbox, max_payload_bytes=1 << 20)
    emit = router.call("inv-1", EmitCall(topic="t", data_json=b'{"a":1}', message_group_id="g"))
    get = router.call("inv-1", StateGetCall(group_id="g", key="k"))
    router.log("inv-1", LogRecord(LogLevel.WARN, "careful", b'{"n":1}', 123))
    outbox.close()
    await outbox.run()
    messages = [m.call for frame in stream.frames for m in frame.messages]
    assert [c.request_id for c in messages] == [1, 2, 0]
    assert messages[0].emit.topic == "t" and messages[0].emit.message_group_id == "g"
    assert messages[1].state_get.key == "k" and messages[1].invocation_id == "inv-1"
    assert messages[2].log.level == pb.Log.LEVEL_WARN and messages[2].log.time_unix_ms == 123

    router.resolve(pb.CallReply(request_id=1, value_json=b"null"))
    router.resolve(pb.CallReply(request_id=2, error=pb.CallError(code=pb.CallError.CODE_UNAVAILABLE, message="down")))
    router.resolve(pb.CallReply(request_id=99, value_json=b"1"))  # unknown: dropped
    assert await emit == b"null"
    with pytest.raises(CallError, match="down") as info:
        await get
    assert info.value.code is CallErrorCode.UNAVAILABLE and info.value.op == "state.get"
    assert router.pending == 0


async def test_oversized_values_and_closed_streams_fail_the_call() -> None:
    router = CallRouter(Outbox(_Stream().write), max_payload_bytes=10)
    with pytest.raises(CallError, match="above the 10 bytes"):
        router.call("i", StateSetCall(group_id="g", key="k", value_json=b'"' + b"x" * 20 + b'"'))
    pending = router.call("i", StateGetCall(group_id="g", key="k"))
    router.close("the connection to the core is closed")
    with pytest.raises(CallError, match="connection to the core is closed"):
        await pending
    with pytest.raises(CallError):
        router.call("i", StateGetCall(group_id="g", key="k"))
