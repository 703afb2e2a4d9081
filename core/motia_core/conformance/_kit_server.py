"""The kit's grpc.aio server: each stream goes to the spawn that expects the secret its Hello carries.

Any other secret is refused with ``BAD_SECRET``, a first envelope that is not a Hello with
``NOT_HELLO``, as the core does; the stream itself is a :class:`RunnerStream` (_stream.py).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

# The kit forks runner processes while grpc threads run; grpc's fork handlers only log noise then.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import grpc

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc
from motia_core.conformance._kit_calls import StateStore
from motia_core.conformance._stream import KIT_PROTOCOL, RunnerStream
from motia_core.runners.grpc_server import refuse, serve_runner_service

# What the kit accepts from a runner: large, so that an oversized frame is seen and reported
# instead of breaking the stream.
RECEIVE_LIMIT = 64 * 1024 * 1024


@dataclass
class Refused:
    """A connection the server refused by itself (unknown secret)."""

    pid: int
    code: int


class _Servicer(pb_grpc.RunnerServiceServicer):
    def __init__(self, server: KitServer) -> None:
        self._server = server

    async def Connect(self, request_iterator: Any, context: Any) -> None:
        await self._server.accept(context)


class KitServer:
    """The kit's grpc server: streams are routed to spawns by the secret in their Hello."""

    def __init__(self) -> None:
        self.state = StateStore()
        self.address = ""
        self.refused: list[Refused] = []
        self.not_hello = 0  # streams refused because their first envelope was not a Hello
        self.streams: list[RunnerStream] = []
        self._expected: dict[str, asyncio.Future[RunnerStream]] = {}
        self._server: Any = None

    async def start(self, socket_path: str) -> str:
        self._server = await serve_runner_service(_Servicer(self), socket_path, RECEIVE_LIMIT)
        self.address = f"unix:{socket_path}"
        return self.address

    async def stop(self) -> None:
        for stream in self.streams:
            stream.close()
        if self._server is not None:
            await self._server.stop(0.5)
            self._server = None

    def expect(self, secret: str) -> asyncio.Future[RunnerStream]:
        fut: asyncio.Future[RunnerStream] = asyncio.get_running_loop().create_future()
        self._expected[secret] = fut
        return fut

    def forget(self, secret: str) -> None:
        fut = self._expected.pop(secret, None)
        if fut is not None and not fut.done():
            fut.cancel()

    async def accept(self, context: Any) -> None:
        first = await context.read()
        if first is grpc.aio.EOF or not first.messages or first.messages[0].WhichOneof("kind") != "hello":
            # Nobody expects this stream; a spawn waiting for it fails on its own timeout.
            self.not_hello += 1
            await _refuse_now(context, pb.Refusal.CODE_NOT_HELLO, "the first envelope must be a Hello")
            return
        hello = first.messages[0].hello
        waiter = self._expected.pop(hello.secret, None)
        if waiter is None or waiter.done():
            self.refused.append(Refused(hello.pid, pb.Refusal.CODE_BAD_SECRET))
            await _refuse_now(context, pb.Refusal.CODE_BAD_SECRET, "missing or wrong runner secret")
            return
        stream = RunnerStream(context, first, self.state)
        self.streams.append(stream)
        waiter.set_result(stream)
        await stream.serve()


async def _refuse_now(context: Any, code: int, message: str) -> None:
    await refuse(context, code, message, KIT_PROTOCOL, KIT_PROTOCOL)
