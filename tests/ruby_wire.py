"""A small in-test core for the Ruby runner: the core's end of RunnerService.Connect.

Used by tests/test_ruby_wire.py and tests/test_ruby_wire_lifecycle.py for what the HTTP surface
of the real core cannot show (load errors, failure kinds, exit codes, Cancel, drains).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from tests.conftest import ROOT
from tests.core_end import CoreEnd, serve_connect

RUBY = shutil.which("ruby")
RUNNER = ROOT / "runners" / "ruby" / "bin" / "motia-ruby-runner"

pytestmark = pytest.mark.skipif(RUBY is None, reason="ruby is not installed (apt-get install ruby ruby-grpc)")

API, EVENT, CRON = pb.TRIGGER_API, pb.TRIGGER_EVENT, pb.TRIGGER_CRON
ACCESS, AUTH = pb.TRIGGER_STREAM_ACCESS, pb.TRIGGER_STREAM_AUTH


class WireCore(CoreEnd):
    """The core's end of RunnerService.Connect for one Ruby runner: answers calls from a dict."""

    def __init__(
        self, tmp_path: Path, project: Path, max_message_bytes: int = 0, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(project)
        self.socket = tmp_path / "core.sock"
        self.max_message_bytes = max_message_bytes
        self.env = env or {}
        self.secret = uuid.uuid4().hex
        self.logs: list[tuple[int, pb.Log]] = []
        self.call_errors: dict[str, pb.CallError] = {}  # op -> the error to answer with
        self.stream_calls: list[tuple[int, str, Any]] = []  # (request_id, op, the op's message)
        # Every result, Cancelled, Draining and log line, in the order the runner sent them.
        self.received: list[tuple[str, Any]] = []
        self.held: list[int] = []  # request ids of state.get("gate", ...) calls answered by open_gate()
        self.hello: pb.Hello | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.end_stream = asyncio.Event()  # set: the core ends the stream (status OK)
        self.stream_done = asyncio.Event()
        self._server: Any = None

    async def start(self) -> None:
        self._server = await serve_connect(f"unix:{self.socket}", self._connect)
        connected = self._expect("welcomed")
        self.proc = await asyncio.create_subprocess_exec(
            str(RUBY),
            str(RUNNER),
            cwd=self.project,
            env={
                **os.environ,
                "MOTIA_CORE_ADDRESS": f"unix:{self.socket}",
                "MOTIA_RUNNER_SECRET": self.secret,
                "MOTIA_PROJECT_DIR": str(self.project),
                "MOTIA_RUNNER_SLOTS": "64",
                **self.env,
            },
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.wait_for(connected, 15)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._server is not None:
            await self._server.stop(0)

    async def exit_code(self, timeout: float = 10) -> tuple[int, str]:
        assert self.proc is not None and self.proc.stderr is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        return code, (await self.proc.stderr.read()).decode()

    # -- driving (send, load and ping: CoreEnd) ----------------------------------------------------

    async def invoke(
        self, step_id: str, trigger: int, payload: Any = None, raw: bytes | None = None
    ) -> pb.InvocationResult:
        _, future = self.start_invocation(step_id, trigger, payload, raw)
        result: pb.InvocationResult = await asyncio.wait_for(future, 10)
        assert result.fencing_token == 7
        return result

    def start_invocation(
        self, step_id: str, trigger: int, payload: Any = None, raw: bytes | None = None
    ) -> tuple[str, asyncio.Future[pb.InvocationResult]]:
        """Send a StartInvocation; returns its id and a future for its result."""
        invocation_id = uuid.uuid4().hex
        future = self._expect(("result", invocation_id))
        if raw is None:
            raw = b"" if payload is None else json.dumps(payload).encode()
        self.send(
            start=pb.StartInvocation(
                invocation_id=invocation_id,
                step_id=step_id,
                attempt=1,
                fencing_token=7,
                trace_id="T-1",
                flows=["wire"],
                trigger=trigger,  # type: ignore[arg-type]
                payload_json=raw,
            )
        )
        return invocation_id, future

    async def cancel(self, invocation_id: str, reason: int = pb.Cancel.REASON_TIMEOUT) -> pb.Cancelled:
        future = self._expect(("cancelled", invocation_id))
        self.send(cancel=pb.Cancel(invocation_id=invocation_id, reason=reason, grace_ms=5000))  # type: ignore[arg-type]
        cancelled: pb.Cancelled = await asyncio.wait_for(future, 10)
        return cancelled

    async def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}; received {self.kinds()}"
            await asyncio.sleep(0.01)

    def kinds(self) -> list[str]:
        """What was received, in order: "result:<id>", "cancelled:<id>", "draining", "log:<message>"."""
        return [kind for kind, _ in self.received]

    def log_fields(self, message: str) -> list[dict[str, Any]]:
        return [json.loads(log.fields_json or b"{}") for _, log in self.logs if log.message == message]

    def open_gate(self) -> None:
        for request_id in self.held:
            self.send(call_reply=pb.CallReply(request_id=request_id, value_json=b"true"))
        self.held.clear()

    # -- the stream --------------------------------------------------------------------------------

    async def _connect(self, request_iterator: Any, context: Any) -> None:
        writer = asyncio.ensure_future(self._write(context))
        reader = asyncio.ensure_future(self._read(context))
        ended = asyncio.ensure_future(self.end_stream.wait())
        await asyncio.wait({reader, ended}, return_when=asyncio.FIRST_COMPLETED)
        for task in (writer, reader, ended):
            task.cancel()
        await asyncio.gather(writer, reader, ended, return_exceptions=True)
        self.stream_done.set()
        self._fail_waiting()

    async def _read(self, context: Any) -> None:
        while (frame := await context.read()) is not grpc.aio.EOF:
            for message in frame.messages:
                self._on_message(message)

    def _on_message(self, message: pb.RunnerMessage) -> None:
        kind = message.WhichOneof("kind")
        if kind == "hello":
            self.hello = message.hello
            welcome = pb.Welcome(
                protocol_version=1,
                session_id="wire",
                max_message_bytes=self.max_message_bytes,
                project_dir=str(self.project),
            )
            self.send(welcome=welcome)
            self._resolve("welcomed", None)
        elif kind == "steps_loaded":
            self._resolve(("loaded", message.steps_loaded.request_id), message.steps_loaded)
        elif kind == "result":
            self.received.append((f"result:{message.result.invocation_id}", message.result))
            self._resolve(("result", message.result.invocation_id), message.result)
        elif kind == "cancelled":
            self.received.append((f"cancelled:{message.cancelled.invocation_id}", message.cancelled))
            self._resolve(("cancelled", message.cancelled.invocation_id), message.cancelled)
        elif kind == "draining":
            self.received.append(("draining", message.draining))
        elif kind == "pong":
            self._resolve(("pong", message.pong.nonce), None)
        elif kind == "call":
            self._on_call(message.call)

    def _on_call(self, call: pb.Call) -> None:
        op = call.WhichOneof("op")
        if op == "log":
            self.logs.append((call.request_id, call.log))
            self.received.append((f"log:{call.log.message}", call.log))
            return
        if op == "state_get" and call.state_get.group_id == "gate":
            self.held.append(call.request_id)  # no reply until open_gate()
            return
        error = self.call_errors.get(op or "")
        if error is not None:
            self.send(call_reply=pb.CallReply(request_id=call.request_id, error=error))
            return
        value = self._answer_emit_or_state(call)
        if op is not None and op.startswith("stream_"):
            body = getattr(call, op)
            self.stream_calls.append((call.request_id, op, body))
            if op == "stream_get":
                value = json.dumps({"text": "stored", "id": body.id}).encode()
            elif op == "stream_set":
                value = json.dumps({**json.loads(body.data_json), "id": body.id}).encode()
            elif op == "stream_get_group":
                value = b'[{"text":"one","id":"1"},{"text":"two","id":"2"}]'
        self.send(call_reply=pb.CallReply(request_id=call.request_id, value_json=value))


def _write(project: Path, relative: str, source: str) -> None:
    path = project / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


async def wire_cores(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Body of the ``wire`` fixture: a starter for WireCores, all stopped at the end."""
    cores: list[WireCore] = []

    async def start(files: dict[str, str], max_message_bytes: int = 0, env: dict[str, str] | None = None) -> WireCore:
        project = tmp_path / f"project{len(cores)}"
        for relative, source in files.items():
            _write(project, relative, source)
        core = WireCore(tmp_path, project, max_message_bytes, env)
        cores.append(core)
        await core.start()
        return core

    yield start
    for core in cores:
        await core.stop()
