"""The gRPC transport below the interface: handshake refusals, batching, calls, fencing, loss."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import orjson
import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc
from motia_core.calls import CoreCalls
from motia_core.errors import RunnerLost
from motia_core.logs import Logger
from motia_core.project import RunnerName, StepFile
from motia_core.runners.grpc_server import GrpcRunnerServer
from motia_core.runners.grpc_session import GrpcSession
from motia_core.runners.transport import Invocation, InvocationScope, Trigger
from motia_core.state.sqlite import SqliteStateStore


class ScriptedRunner:
    """A runner written inline: sends what the test says, records what the core sends."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(address)
        self.outgoing: asyncio.Queue[pb.RunnerFrame | None] = asyncio.Queue()
        self.frames: list[pb.CoreFrame] = []
        self.messages: asyncio.Queue[pb.CoreMessage] = asyncio.Queue()
        stub = pb_grpc.RunnerServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.call = stub.Connect(self._requests())
        self.reader = asyncio.create_task(self._read())

    async def _requests(self) -> AsyncIterator[pb.RunnerFrame]:
        while (frame := await self.outgoing.get()) is not None:
            yield frame

    async def _read(self) -> None:
        async for frame in self.call:
            self.frames.append(frame)
            for msg in frame.messages:
                self.messages.put_nowait(msg)

    def send(self, *messages: pb.RunnerMessage) -> None:
        self.outgoing.put_nowait(pb.RunnerFrame(messages=list(messages)))

    async def next(self, kind: str) -> pb.CoreMessage:
        while True:
            msg = await asyncio.wait_for(self.messages.get(), 5)
            if msg.WhichOneof("kind") == kind:
                return msg

    async def close(self) -> None:
        self.outgoing.put_nowait(None)
        self.reader.cancel()
        await self.channel.close()


def hello(secret: str, pmin: int = 1, pmax: int = 1) -> pb.RunnerMessage:
    return pb.RunnerMessage(
        hello=pb.Hello(
            protocol_min=pmin,
            protocol_max=pmax,
            runner_instance_id="t-1",
            language="python",
            runtime_version="test",
            concurrency_slots=8,
            secret=secret,
            pid=1,
        )
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[GrpcRunnerServer, CoreCalls]]:
    state = SqliteStateStore(tmp_path / "state.db")
    calls = CoreCalls(state, Logger("json", stream=io.StringIO()))
    srv = GrpcRunnerServer(calls, Logger("json", stream=io.StringIO()), str(tmp_path))
    await srv.start()
    yield srv, calls
    await srv.stop(0)
    await state.close()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (hello("wrong"), pb.Refusal.CODE_BAD_SECRET),
        (hello("s3cret", pmin=2, pmax=3), pb.Refusal.CODE_VERSION_UNSUPPORTED),
        (pb.RunnerMessage(ping=pb.Ping(nonce=1)), pb.Refusal.CODE_NOT_HELLO),
    ],
)
async def test_handshake_refusals(
    server: tuple[GrpcRunnerServer, CoreCalls], message: pb.RunnerMessage, code: int
) -> None:
    srv, _ = server
    expected = srv.expect("s3cret")
    runner = ScriptedRunner(srv.address)
    runner.send(message)
    refusal = (await runner.next("refusal")).refusal
    assert refusal.code == code
    assert refusal.message
    assert not expected.done()
    await runner.close()


async def _connect(srv: GrpcRunnerServer) -> tuple[ScriptedRunner, GrpcSession]:
    expected = srv.expect("s3cret")
    runner = ScriptedRunner(srv.address)
    runner.send(hello("s3cret"))
    welcome = (await runner.next("welcome")).welcome
    assert welcome.protocol_version == 1
    return runner, await asyncio.wait_for(expected, 5)


def _invocation(n: int, token: int | None = None) -> Invocation:
    return Invocation(f"inv-{n}", "steps/a_step.py", Trigger.EVENT, b'{"n":%d}' % n, "T-1", (), token or n)


SCOPE = InvocationScope("x", "T-1", "A", "python")


async def test_many_invocations_are_batched_and_results_correlated(server: tuple[GrpcRunnerServer, CoreCalls]) -> None:
    srv, _ = server
    runner, session = await _connect(srv)
    frames_before = len(runner.frames)
    tasks = [
        asyncio.create_task(session.invoke(_invocation(n), InvocationScope(f"inv-{n}", "T", "A", "py"), 5))
        for n in range(8)
    ]
    starts = [(await runner.next("start")).start for _ in range(8)]
    assert len(runner.frames) - frames_before < 8  # coalesced into fewer frames than messages
    # answer in reverse order, all in one frame
    runner.send(
        *(
            pb.RunnerMessage(
                result=pb.InvocationResult(
                    invocation_id=s.invocation_id,
                    fencing_token=s.fencing_token,
                    completed=pb.Completed(payload_json=s.payload_json),
                )
            )
            for s in reversed(starts)
        )
    )
    outcomes = await asyncio.gather(*tasks)
    assert [orjson.loads(o.payload)["n"] for o in outcomes] == list(range(8))
    await runner.close()


async def test_stale_fencing_token_is_rejected(server: tuple[GrpcRunnerServer, CoreCalls]) -> None:
    srv, _ = server
    runner, session = await _connect(srv)
    task = asyncio.create_task(session.invoke(_invocation(1, token=7), SCOPE, 5))
    start = (await runner.next("start")).start
    stale = pb.InvocationResult(invocation_id=start.invocation_id, fencing_token=6, completed=pb.Completed())
    good = pb.InvocationResult(
        invocation_id=start.invocation_id, fencing_token=7, completed=pb.Completed(payload_json=b"1")
    )
    runner.send(pb.RunnerMessage(result=stale))
    await asyncio.sleep(0.1)
    assert not task.done()
    runner.send(pb.RunnerMessage(result=good))
    assert (await task).payload == b"1"
    await runner.close()


async def test_calls_are_served_and_correlated(server: tuple[GrpcRunnerServer, CoreCalls]) -> None:
    srv, _ = server
    runner, session = await _connect(srv)
    task = asyncio.create_task(session.invoke(_invocation(1), InvocationScope("inv-1", "T-1", "A", "python"), 5))
    await runner.next("start")
    runner.send(
        pb.RunnerMessage(
            call=pb.Call(
                request_id=1,
                invocation_id="inv-1",
                state_set=pb.StateSet(group_id="g", key="k", value_json=b'{"a":[1]}'),
            )
        ),
        pb.RunnerMessage(call=pb.Call(request_id=0, invocation_id="inv-1", log=pb.Log(level=2, message="hi"))),
    )
    reply = (await runner.next("call_reply")).call_reply
    assert reply.request_id == 1 and orjson.loads(reply.value_json) == {"a": [1]}
    runner.send(
        pb.RunnerMessage(
            call=pb.Call(request_id=2, invocation_id="inv-1", state_get_group=pb.StateGetGroup(group_id="g"))
        )
    )
    reply = (await runner.next("call_reply")).call_reply
    assert reply.request_id == 2 and orjson.loads(reply.value_json) == [{"a": [1]}]
    runner.send(
        pb.RunnerMessage(call=pb.Call(request_id=3, invocation_id="nope", state_get=pb.StateGet(group_id="g", key="k")))
    )
    reply = (await runner.next("call_reply")).call_reply
    assert reply.request_id == 3 and reply.error.code == pb.CallError.CODE_UNKNOWN_INVOCATION
    runner.send(
        pb.RunnerMessage(
            call=pb.Call(
                request_id=4, invocation_id="inv-1", state_set=pb.StateSet(group_id="g", key="k", value_json=b"{bad")
            )
        )
    )
    reply = (await runner.next("call_reply")).call_reply
    assert reply.error.code == pb.CallError.CODE_INVALID_ARGUMENT
    task.cancel()
    await runner.close()


async def test_stream_end_fails_in_flight_with_runner_lost(server: tuple[GrpcRunnerServer, CoreCalls]) -> None:
    srv, _ = server
    runner, session = await _connect(srv)
    task = asyncio.create_task(session.invoke(_invocation(1), SCOPE, 5))
    await runner.next("start")
    await runner.close()
    with pytest.raises(RunnerLost):
        await asyncio.wait_for(task, 5)
    assert session.closed.done()


async def test_load_steps_round_trip(server: tuple[GrpcRunnerServer, CoreCalls], tmp_path: Path) -> None:
    srv, _ = server
    runner, session = await _connect(srv)
    files = [StepFile(tmp_path / "steps/a_step.py", "steps/a_step.py", "python", RunnerName("python"))]
    task = asyncio.create_task(session.load_steps(files, 5))
    load = (await runner.next("load_steps")).load_steps
    assert [f.relative_path for f in load.files] == ["steps/a_step.py"]
    runner.send(
        pb.RunnerMessage(
            steps_loaded=pb.StepsLoaded(
                request_id=load.request_id,
                steps=[pb.StepManifest(step_id="steps/a_step.py", config_json=b'{"type":"noop","name":"A"}')],
            )
        )
    )
    manifest = await task
    assert manifest.steps[0].step_id == "steps/a_step.py"
    await runner.close()
