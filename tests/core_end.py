"""The core's end of RunnerService.Connect, shared by the in-test cores that drive a real runner
process (tests/sdk_python/fake_core.py for Python, tests/ruby_wire.py for Ruby; the Node cancel
test uses ``serve_connect`` only). Each subclass decides how to answer what the runner sends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

ConnectHandler = Callable[[Any, Any], Awaitable[None]]


async def serve_connect(address: str, connect: ConnectHandler) -> grpc.aio.Server:
    """A started grpc.aio server on ``address`` whose RunnerService.Connect is ``connect``."""
    server = grpc.aio.server()
    handler = grpc.stream_stream_rpc_method_handler(
        connect,
        request_deserializer=pb.RunnerFrame.FromString,
        response_serializer=pb.CoreFrame.SerializeToString,
    )
    generic = grpc.method_handlers_generic_handler("motia.runner.v1.RunnerService", {"Connect": handler})
    server.add_generic_rpc_handlers((generic,))
    server.add_insecure_port(address)
    await server.start()
    return server


class CoreEnd:
    """Sending (batched like the core: one CoreFrame per burst), futures keyed by what they wait
    for (``("result", invocation_id)``, ``("pong", nonce)``...), LoadSteps and Ping."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._out: asyncio.Queue[pb.CoreMessage | None] = asyncio.Queue()
        self._waiting: dict[Any, asyncio.Future[Any]] = {}
        self._next_request_id = 0
        self.state: dict[tuple[str, str], bytes] = {}  # (group id, key) -> value JSON
        self.emits: list[tuple[str, Any]] = []  # (topic, data)

    def send(self, **fields: Any) -> None:
        self._out.put_nowait(pb.CoreMessage(**fields))

    def _expect(self, key: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    def _resolve(self, key: Any, value: Any) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(value)

    def _fail_waiting(self) -> None:
        """The stream ended: every pending future fails (and is marked retrieved: a test may not
        await it, e.g. a cancelled invocation's result)."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the runner stream ended"))
                future.exception()

    async def load(self, *relative_paths: str) -> pb.StepsLoaded:
        self._next_request_id += 1
        files = [pb.StepFile(step_id=r, path=str(self.project / r), relative_path=r) for r in relative_paths]
        future = self._expect(("loaded", self._next_request_id))
        self.send(load_steps=pb.LoadSteps(request_id=self._next_request_id, files=files))
        result: pb.StepsLoaded = await asyncio.wait_for(future, 10)
        return result

    async def ping(self, nonce: int) -> None:
        """A Ping answered: every envelope sent before it has been handled by the runner's reader."""
        future = self._expect(("pong", nonce))
        self.send(ping=pb.Ping(nonce=nonce))
        await asyncio.wait_for(future, 10)

    def _answer_emit_or_state(self, call: pb.Call) -> bytes:
        """The reply value of an emit, state.get or state.set (recorded in ``emits`` / ``state``);
        ``null`` for any other op."""
        op = call.WhichOneof("op")
        if op == "emit":
            self.emits.append((call.emit.topic, json.loads(call.emit.data_json)))
        elif op == "state_get":
            return self.state.get((call.state_get.group_id, call.state_get.key), b"null")
        elif op == "state_set":
            self.state[(call.state_set.group_id, call.state_set.key)] = call.state_set.value_json
            return call.state_set.value_json
        return b"null"

    async def _write(self, context: Any) -> None:
        """Write what is queued, one CoreFrame per burst, until a None is queued."""
        while (first := await self._out.get()) is not None:
            batch = [first]
            while not self._out.empty():
                message = self._out.get_nowait()
                if message is None:
                    await context.write(pb.CoreFrame(messages=batch))
                    return
                batch.append(message)
            await context.write(pb.CoreFrame(messages=batch))
