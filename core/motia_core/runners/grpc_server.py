"""The gRPC implementation of the runner transport: the server.

One grpc.aio server on a unix socket in a private 0700 directory. Each runner opens one
bidirectional stream; the first envelope must be a Hello whose secret matches a spawn the
supervisor expects. The stream itself is served by grpc_session.GrpcSession.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import shutil
import tempfile
import uuid
from typing import Any

import grpc

from motia_core import PROTOCOL_MAX, PROTOCOL_MIN
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc
from motia_core.limits import MAX_MESSAGE_BYTES
from motia_core.logs import Logger
from motia_core.runners.grpc_session import GrpcSession
from motia_core.runners.liveness import HEARTBEAT_INTERVAL
from motia_core.runners.transport import (
    CallHandler,
    RunnerInfo,
)


class _Servicer(pb_grpc.RunnerServiceServicer):
    def __init__(self, server: GrpcRunnerServer) -> None:
        self._server = server

    async def Connect(self, request_iterator: Any, context: Any) -> None:
        await self._server._accept(context)


class GrpcRunnerServer:
    """Accepts runner connections and matches each to the spawn that expects its secret."""

    def __init__(self, calls: CallHandler, logger: Logger, project_dir: str) -> None:
        self._calls = calls
        self._project_dir = project_dir
        self._logger = logger
        self._expected: dict[str, asyncio.Future[GrpcSession]] = {}
        self._dir: str | None = None
        self._server: Any = None
        self.address = ""

    async def start(self, socket_dir: str | None = None) -> str:
        """Listen on runners.sock in `socket_dir` (a private dir the caller made; this server
        removes it at stop) or in a new one."""
        self._dir = socket_dir or tempfile.mkdtemp(prefix="motia-core-")
        os.chmod(self._dir, 0o700)
        socket_path = os.path.join(self._dir, "runners.sock")
        self._server = await serve_runner_service(_Servicer(self), socket_path, MAX_MESSAGE_BYTES)
        self.address = f"unix:{socket_path}"
        return self.address

    def expect(self, secret: str) -> asyncio.Future[GrpcSession]:
        fut: asyncio.Future[GrpcSession] = asyncio.get_running_loop().create_future()
        self._expected[secret] = fut
        return fut

    def forget(self, secret: str) -> None:
        fut = self._expected.pop(secret, None)
        if fut is not None and not fut.done():
            fut.cancel()

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def _accept(self, context: Any) -> None:
        first = await context.read()
        if first is grpc.aio.EOF or not first.messages or first.messages[0].WhichOneof("kind") != "hello":
            await _refuse(context, pb.Refusal.CODE_NOT_HELLO, "the first message on the stream must be a Hello")
            return
        hello = first.messages[0].hello
        version = min(PROTOCOL_MAX, hello.protocol_max)
        if version < max(PROTOCOL_MIN, hello.protocol_min):
            await _refuse(
                context,
                pb.Refusal.CODE_VERSION_UNSUPPORTED,
                f"runner speaks protocol {hello.protocol_min}..{hello.protocol_max}, "
                f"core speaks {PROTOCOL_MIN}..{PROTOCOL_MAX}",
            )
            return
        waiter = self._match(hello.secret)
        if waiter is None:
            self._logger.warn(
                "refused a runner connection with a missing or wrong secret",
                language=hello.language or "?",
                pid=hello.pid,
            )
            await _refuse(context, pb.Refusal.CODE_BAD_SECRET, "missing or wrong runner secret")
            return
        info = RunnerInfo(
            language=hello.language,
            runtime_version=hello.runtime_version,
            sdk_version=hello.sdk_version,
            instance_id=hello.runner_instance_id,
            pid=hello.pid,
            slots=hello.concurrency_slots or 1,
            protocol_version=version,
            capabilities=frozenset(hello.capabilities),
        )
        session = GrpcSession(context, info, self._calls, self._logger, uuid.uuid4().hex)
        welcome = session._message().welcome
        welcome.protocol_version = version
        welcome.session_id = session.session_id
        welcome.max_message_bytes = MAX_MESSAGE_BYTES
        welcome.ping_interval_ms = int(HEARTBEAT_INTERVAL * 1000)  # the core pings a quiet stream this often
        welcome.project_dir = self._project_dir
        waiter.set_result(session)
        await session.run(list(first.messages[1:]))

    def _match(self, secret: str) -> asyncio.Future[GrpcSession] | None:
        found = None
        for expected, fut in self._expected.items():
            # compare every entry so timing does not reveal which one matched
            if hmac.compare_digest(expected.encode(), secret.encode()) and not fut.done():
                found = expected
        return self._expected.pop(found) if found is not None else None


async def serve_runner_service(servicer: Any, socket_path: str, max_message_bytes: int) -> Any:
    """A started grpc.aio server for RunnerService on a unix socket: the core's, and the conformance
    kit's (which stands in for the core, so it must accept runners the same way)."""
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    server = grpc.aio.server(options=options)
    pb_grpc.add_RunnerServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(f"unix:{socket_path}")
    await server.start()
    return server


async def refuse(context: Any, code: int, message: str, protocol_min: int, protocol_max: int) -> None:
    """Answer a stream with a Refusal (the runner logs it and exits); a stream already gone is fine."""
    frame = pb.CoreFrame()
    refusal = frame.messages.add().refusal
    refusal.code = code  # type: ignore[assignment]
    refusal.message = message
    refusal.core_protocol_min = protocol_min
    refusal.core_protocol_max = protocol_max
    with contextlib.suppress(Exception):
        await context.write(frame)


async def _refuse(context: Any, code: int, message: str) -> None:
    await refuse(context, code, message, PROTOCOL_MIN, PROTOCOL_MAX)
