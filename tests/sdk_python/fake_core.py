"""A minimal in-test core: the server side of RunnerService.Connect, for driving the real runner."""

from __future__ import annotations

import asyncio
import json
import os
import site
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from tests.core_end import CoreEnd, serve_connect

BOOTSTRAP = Path(__file__).resolve().parents[2] / "runners" / "python" / "motia_runner" / "bootstrap.py"


class FakeCore(CoreEnd):
    """Accepts one runner stream; answers calls from an in-memory state; records what it saw."""

    def __init__(self, socket_path: str, project: Path, secret: str = "s3cret") -> None:
        super().__init__(project)
        self.socket_path = socket_path
        self.secret = secret
        self.answer_hello = True  # False: never send Welcome (a runner stuck in its handshake)
        self.server: Any = None
        self.hello: pb.Hello | None = None
        self.connected = asyncio.Event()
        self.ended = asyncio.Event()
        self.frames_in = 0
        self.logs: list[tuple[str, str, Any]] = []
        self.received: list[pb.RunnerMessage] = []  # every envelope, in order
        self.changed = asyncio.Event()  # set whenever an envelope arrives (see wait_for)

    async def start(self) -> None:
        self.server = await serve_connect(f"unix:{self.socket_path}", self._connect)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)

    async def spawn(self, secret: str | None = None) -> asyncio.subprocess.Process:
        env = dict(os.environ)
        env.update(
            MOTIA_CORE_ADDRESS=f"unix:{self.socket_path}",
            MOTIA_RUNNER_SECRET=self.secret if secret is None else secret,
            MOTIA_PROJECT_DIR=str(self.project),
            MOTIA_CORE_SITE_PACKAGES=os.pathsep.join(site.getsitepackages()),
        )
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOOTSTRAP),
            cwd=str(self.project),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    # -- driving the runner (send, load and ping: CoreEnd) ---------------------------------------

    def invoke(
        self, step_id: str, trigger: int, payload: Any, trace_id: str = "T-1", invocation_id: str | None = None
    ) -> asyncio.Future[Any]:
        invocation_id = invocation_id or uuid.uuid4().hex
        future = self._expect(("result", invocation_id))
        raw = b"" if payload is None else json.dumps(payload).encode()
        start = pb.StartInvocation(
            invocation_id=invocation_id,
            step_id=step_id,
            attempt=1,
            fencing_token=11,
            trace_id=trace_id,
            flows=["f"],
            trigger=trigger,  # type: ignore[arg-type]
            payload_json=raw,
        )
        self.send(start=start)
        return future

    def cancel(self, invocation_id: str, reason: int = pb.Cancel.REASON_TIMEOUT) -> asyncio.Future[pb.Cancelled]:
        """Send Cancel; the future resolves with the runner's Cancelled."""
        future = self._waiting.get(("cancelled", invocation_id)) or self._expect(("cancelled", invocation_id))
        self.send(cancel=pb.Cancel(invocation_id=invocation_id, reason=reason, grace_ms=5000))  # type: ignore[arg-type]
        return future

    def kinds(self) -> list[str]:
        """The kinds of the envelopes received so far, in order."""
        return [m.WhichOneof("kind") or "" for m in self.received]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until ``condition()`` holds, re-checking whenever an envelope arrives."""

        async def until() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)

    # -- the stream -------------------------------------------------------------------------------

    async def _connect(self, request_iterator: Any, context: Any) -> None:
        writer = asyncio.ensure_future(self._write(context))
        try:
            while (frame := await context.read()) is not grpc.aio.EOF:
                self.frames_in += 1
                for message in frame.messages:
                    self._on_message(message)
        finally:
            self._out.put_nowait(None)
            await writer
            self.ended.set()
            self._fail_waiting()

    def _on_message(self, message: pb.RunnerMessage) -> None:
        self.received.append(message)
        self.changed.set()
        kind = message.WhichOneof("kind")
        if kind == "hello":
            self.hello = message.hello
            if not self.answer_hello:
                pass
            elif message.hello.secret != self.secret:
                refusal = pb.Refusal(code=pb.Refusal.CODE_BAD_SECRET, message="bad secret", core_protocol_min=1)
                self.send(refusal=refusal)
            else:
                welcome = pb.Welcome(protocol_version=1, session_id="s", project_dir=str(self.project))
                self.send(welcome=welcome)
            self.connected.set()
        elif kind == "steps_loaded":
            self._resolve(("loaded", message.steps_loaded.request_id), message.steps_loaded)
        elif kind == "result":
            self._resolve(("result", message.result.invocation_id), message.result)
        elif kind == "cancelled":
            self._resolve(("cancelled", message.cancelled.invocation_id), message.cancelled)
        elif kind == "pong":
            self._resolve(("pong", message.pong.nonce), message.pong)
        elif kind == "call":
            self._on_call(message.call)

    def _on_call(self, call: pb.Call) -> None:
        op = call.WhichOneof("op")
        if op == "log":
            fields = json.loads(call.log.fields_json or b"{}")
            self.logs.append((pb.Log.Level.Name(call.log.level), call.log.message, fields))
            return
        reply = pb.CallReply(request_id=call.request_id, value_json=self._answer_emit_or_state(call))
        self.send(call_reply=reply)
