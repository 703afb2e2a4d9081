"""The runner's hand-framed HTTP/2 transport (MOTIA_RUNNER_TRANSPORT=h2): against a real grpc.aio
server (flow control, sizes, statuses), against a hand-written HTTP/2 peer (GOAWAY, PING), and the
real runner process against the in-test core."""

from __future__ import annotations

import asyncio
import os
import struct
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_runner.errors import SettingsError, StreamClosedError
from motia_runner.h2_stream import H2Call, open_call
from motia_runner.proto import CONNECT_METHOD
from motia_runner.settings import RunnerSettings
from tests.core_end import serve_connect

from . import test_runner_session as session_tests
from .fake_core import FakeCore

Handler = Callable[[AsyncIterator[pb.RunnerFrame], Any], Awaitable[None]]


@pytest.fixture
def socket_dir() -> Any:
    with tempfile.TemporaryDirectory(prefix="h2-") as folder:  # short: unix socket paths are limited
        yield folder


async def _serve(socket_dir: str, handler: Handler) -> tuple[grpc.aio.Server, str]:
    path = f"{socket_dir}/core.sock"
    return await serve_connect(f"unix:{path}", handler), f"unix:{path}"


def _body_frame(body: bytes) -> bytes:
    frame = pb.RunnerFrame()
    frame.messages.add().result.completed.http_response.body = body
    return frame.SerializeToString()


@pytest.mark.timeout(180)
async def test_megabyte_messages_both_ways_pass_flow_control(socket_dir: str) -> None:
    # 24 x 1 MB each way: more than grpc's windows (we must wait for its credit) and more than our
    # 16 MB receive window (the server stalls unless we credit back what we consumed).
    async def echo(frames: AsyncIterator[pb.RunnerFrame], context: Any) -> None:
        async for frame in frames:
            reply = pb.CoreFrame()
            reply.messages.add().start.payload_json = frame.messages[0].result.completed.http_response.body
            await context.write(reply)

    server, address = await _serve(socket_dir, echo)
    try:
        call = await open_call(address, CONNECT_METHOD, 64 * 1024 * 1024)
        bodies = [os.urandom(1024 * 1024) for _ in range(24)]

        async def send() -> None:
            for body in bodies:
                await call.write(_body_frame(body))
            await call.done_writing()

        sender = asyncio.ensure_future(send())
        for body in bodies:
            frame = await asyncio.wait_for(call.read(), 60)
            assert frame is not None and frame.messages[0].start.payload_json == body
        await sender
        assert await asyncio.wait_for(call.read(), 10) is None  # trailers with grpc-status 0
        call.cancel()
    finally:
        await server.stop(0)


async def test_messages_over_the_limit_are_refused_both_ways(socket_dir: str) -> None:
    async def big(frames: AsyncIterator[pb.RunnerFrame], context: Any) -> None:
        reply = pb.CoreFrame()
        reply.messages.add().start.payload_json = b"x" * 5000
        await context.write(reply)
        async for _ in frames:
            pass

    server, address = await _serve(socket_dir, big)
    try:
        call = await open_call(address, CONNECT_METHOD, 1000)
        with pytest.raises(StreamClosedError, match="RESOURCE_EXHAUSTED: a message of 2000 bytes to the core"):
            await call.write(b"\x0a" * 2000)
        with pytest.raises(StreamClosedError, match=r"RESOURCE_EXHAUSTED: the core sent a message of 50\d\d bytes"):
            await asyncio.wait_for(call.read(), 10)
        call.cancel()
    finally:
        await server.stop(0)


async def test_a_failed_status_in_the_trailers_is_raised_with_its_name_and_message(socket_dir: str) -> None:
    async def deny(frames: AsyncIterator[pb.RunnerFrame], context: Any) -> None:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "no way: 100% sure")

    server, address = await _serve(socket_dir, deny)
    try:
        call = await open_call(address, CONNECT_METHOD, 1 << 20)
        with pytest.raises(StreamClosedError, match="failed: PERMISSION_DENIED: no way: 100% sure$"):
            await asyncio.wait_for(call.read(), 10)
        with pytest.raises(StreamClosedError, match="PERMISSION_DENIED"):
            await call.write(b"")  # a failed stream refuses writes with the same error
        call.cancel()
    finally:
        await server.stop(0)


def _h2_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BHBBI", len(payload) >> 16, len(payload) & 0xFFFF, kind, flags, stream) + payload


async def _read_frames(reader: asyncio.StreamReader, until_kind: int) -> list[tuple[int, int, bytes]]:
    """Frames the client sent (after its preface), up to and including the first of ``until_kind``."""
    frames = []
    while True:
        header = await reader.readexactly(9)
        size = int.from_bytes(header[:3], "big")
        frames.append((header[3], header[4], await reader.readexactly(size)))
        if header[3] == until_kind:
            return frames


async def test_pings_are_answered_and_a_goaway_with_an_error_fails_the_stream(socket_dir: str) -> None:
    got: asyncio.Future[list[tuple[int, int, bytes]]] = asyncio.get_running_loop().create_future()

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readexactly(24) == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        writer.write(_h2_frame(4, 0, 0) + _h2_frame(6, 0, 0, b"keepaliv"))  # SETTINGS, PING
        got.set_result(await _read_frames(reader, until_kind=6))
        writer.write(_h2_frame(7, 0, 0, struct.pack(">II", 0, 2) + b"core restarting"))  # GOAWAY INTERNAL_ERROR
        await writer.drain()
        await reader.read()  # until the client closes
        writer.close()

    path = f"{socket_dir}/peer.sock"
    server = await asyncio.start_unix_server(peer, path)
    try:
        call = await open_call(f"unix:{path}", CONNECT_METHOD, 1 << 20)
        with pytest.raises(StreamClosedError, match=r"UNAVAILABLE: .*GOAWAY, HTTP/2 error 2\) core restarting"):
            await asyncio.wait_for(call.read(), 10)
        frames = await got
        headers = [f for f in frames if f[0] == 1]
        assert headers and headers[0][1] & 0x4  # the request's HEADERS, complete
        assert (4, 1, b"") in frames  # our SETTINGS acknowledged
        assert frames[-1] == (6, 1, b"keepaliv")  # the PING echoed with ACK
        call.cancel()
    finally:
        server.close()
        await server.wait_closed()


async def test_connecting_retries_until_the_core_listens_and_gives_up_after_the_timeout(socket_dir: str) -> None:
    with pytest.raises(StreamClosedError, match="UNAVAILABLE: cannot connect to the core at unix:.*nobody.sock"):
        await open_call(f"unix:{socket_dir}/nobody.sock", CONNECT_METHOD, 1 << 20, timeout=0.3)
    with pytest.raises(StreamClosedError, match="INVALID_ARGUMENT"):
        await open_call("no-port-here", CONNECT_METHOD, 1 << 20, timeout=0.3)

    async def finish(frames: AsyncIterator[pb.RunnerFrame], context: Any) -> None:
        pass  # ends at once with status OK

    async def listen_late() -> grpc.aio.Server:
        await asyncio.sleep(0.3)
        server, _ = await _serve(socket_dir, finish)
        return server

    late = asyncio.ensure_future(listen_late())
    call: H2Call = await open_call(f"unix:{socket_dir}/core.sock", CONNECT_METHOD, 1 << 20, timeout=20)
    try:
        assert await asyncio.wait_for(call.read(), 10) is None
    finally:
        call.cancel()
        await (await late).stop(0)


def test_the_transport_is_h2_by_default_and_grpc_on_request() -> None:
    base = {"MOTIA_CORE_ADDRESS": "unix:/x"}
    assert RunnerSettings.from_env(base).transport == "h2"
    assert RunnerSettings.from_env({**base, "MOTIA_RUNNER_TRANSPORT": " GRPC "}).transport == "grpc"
    with pytest.raises(SettingsError, match="MOTIA_RUNNER_TRANSPORT='quic' must be 'grpc' or 'h2'"):
        RunnerSettings.from_env({**base, "MOTIA_RUNNER_TRANSPORT": "quic"})


# The real runner process over each transport: the session tests' scenarios (which run the default).


@pytest.fixture(params=["h2", "grpc"])
async def any_core(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeCore]:
    monkeypatch.setenv("MOTIA_RUNNER_TRANSPORT", request.param)  # FakeCore.spawn passes os.environ on
    with tempfile.TemporaryDirectory(prefix="mr-") as folder:
        fake = FakeCore(f"{folder}/core.sock", session_tests._project(tmp_path))
        await fake.start()
        try:
            yield fake
        finally:
            await fake.stop()


async def test_the_runner_loads_invokes_calls_pings_and_drains_over_either_transport(any_core: FakeCore) -> None:
    await session_tests.test_full_session(any_core)


async def test_the_runner_exits_2_when_refused_over_either_transport(any_core: FakeCore) -> None:
    await session_tests.test_refusal_exits_2(any_core)


async def test_the_runner_exits_1_when_the_core_goes_away_over_either_transport(any_core: FakeCore) -> None:
    await session_tests.test_stream_end_without_shutdown_exits_1(any_core)


async def test_only_the_grpc_transport_loads_grpc_into_the_runner(any_core: FakeCore) -> None:
    proc = await any_core.spawn()
    await asyncio.wait_for(any_core.connected.wait(), 10)
    loaded = "cygrpc" in await asyncio.to_thread(Path(f"/proc/{proc.pid}/maps").read_text)
    assert loaded == (os.environ["MOTIA_RUNNER_TRANSPORT"] == "grpc")
    assert proc.stdin is not None
    proc.stdin.close()  # stdin EOF: the runner exits 1
    assert await asyncio.wait_for(proc.wait(), 10) == 1
