"""One connection to the core: handshake, the reader, the writer, and shutdown.

Lifecycle (:class:`RunnerState`)::

    CONNECTING --Welcome--> READY --Shutdown or SIGTERM--> DRAINING --stream closed--> STOPPED
        |                     |
        +--Refusal--> exit 2  +--stream ended / failed--> STOPPED (exit 1)
        +--SIGTERM--> exit 0

Two drains: the core's ``Shutdown{grace_ms}`` waits for in-flight invocations up to the grace, then
abandons them; SIGTERM from the OS first tells the core (``Draining{reason: "SIGTERM"}``, so it
stops dispatching here) and then waits for every invocation in flight, however long (the core may
still ``Cancel`` some). Either way new ``StartInvocation``s fail ``SHUTTING_DOWN``, and then the
runner half-closes the stream and exits 0. A second SIGTERM, or a Shutdown during a drain, changes
nothing.

The reader handles every envelope of a ``CoreFrame`` in order and never waits for a handler:
``LoadSteps`` imports on the loop thread (so envelopes after it see the new steps), invocations
run as tasks, replies resolve futures. The only writer is the :class:`Outbox` task.
"""

from __future__ import annotations

import asyncio
import enum
import os
import signal
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from motia import __version__ as sdk_version

from .calls import CallRouter
from .errors import ExitCode, ProtocolError, RefusedError, StreamClosedError
from .h2_stream import open_call
from .invocations import Invocations
from .loader import LoadedStep, StepLoader, StepSource
from .outbox import Outbox
from .proto import CONNECT_METHOD, DEFAULT_MAX_MESSAGE_BYTES, ENVELOPE_MARGIN_BYTES, PROTOCOL_VERSION, pb
from .settings import RunnerSettings

# After half-closing on Shutdown, how long to wait for the core to end the stream.
_CLOSE_WAIT_SECONDS = 5.0
CAPABILITIES = ("middleware", "sync-handlers", "streams", "cancel", "drain", "http_body_bytes")


class RunnerState(enum.Enum):
    """Where the connection is in its life."""

    CONNECTING = "connecting"  # Hello sent; waiting for Welcome or Refusal
    READY = "ready"  # welcomed: loading steps and running invocations
    DRAINING = "draining"  # Shutdown or SIGTERM received: no new work, finishing what is in flight
    STOPPED = "stopped"  # the stream is closed; the process exits


def runtime_version() -> str:
    names = {"cpython": "CPython", "pypy": "PyPy"}
    implementation = names.get(sys.implementation.name, sys.implementation.name)
    return f"{implementation} {'.'.join(str(part) for part in sys.version_info[:3])}"


def _log(message: str) -> None:
    sys.stderr.write(f"motia runner: {message}\n")
    sys.stderr.flush()


class Session:
    """Runs the runner's side of ``RunnerService.Connect`` until the stream ends."""

    def __init__(self, settings: RunnerSettings, executor: Executor | None = None) -> None:
        self.settings = settings
        self.state = RunnerState.CONNECTING
        self.steps: dict[str, LoadedStep] = {}
        self._executor = executor
        self._loader = StepLoader(settings.project_dir)
        self._max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES
        self._call: Any = None  # a grpc.aio stream call or an H2Call: the same surface
        self._eof: object = None  # what the call's read() returns at the end of the stream (H2Call: None)
        self._outbox: Outbox | None = None
        self._router: CallRouter | None = None
        self._invocations: Invocations | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        self._shutdown_done = asyncio.Event()
        self._drain_reason = ""  # "shutdown" or "SIGTERM" once draining
        self._close_wait = _CLOSE_WAIT_SECONDS

    # -- the whole life ---------------------------------------------------------------------------

    async def run(self) -> ExitCode:
        if self.settings.transport == "h2":
            try:
                call = await open_call(self.settings.address, CONNECT_METHOD, DEFAULT_MAX_MESSAGE_BYTES)
            except StreamClosedError as error:
                _log(str(error))
                return ExitCode.FAILED
            return await self._run_call(call)
        import grpc.aio  # only here: h2 runners never pay for importing grpc

        self._eof = grpc.aio.EOF
        options = [
            ("grpc.max_send_message_length", DEFAULT_MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES),
            ("grpc.enable_http_proxy", 0),  # the core is local; never route through $http_proxy
        ]
        async with grpc.aio.insecure_channel(self.settings.address, options=options) as channel:
            connect = channel.stream_stream(
                CONNECT_METHOD,
                request_serializer=None,  # the outbox hands over RunnerFrames already serialized
                response_deserializer=pb.CoreFrame.FromString,
            )
            return await self._run_call(connect())

    async def _run_call(self, call: Any) -> ExitCode:
        """Serve one stream: a grpc.aio call or an :class:`H2Call` (same surface)."""
        self._call = call
        outbox = Outbox(call.write, DEFAULT_MAX_MESSAGE_BYTES)
        self._outbox = outbox
        router = CallRouter(outbox, DEFAULT_MAX_MESSAGE_BYTES - ENVELOPE_MARGIN_BYTES)
        self._router = router
        self._invocations = Invocations(
            self.steps, router, outbox, self._executor, DEFAULT_MAX_MESSAGE_BYTES - ENVELOPE_MARGIN_BYTES
        )
        outbox.put(self._hello())
        sigterm = self._install_sigterm()
        try:
            return await self._serve(outbox)
        finally:
            if sigterm:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
            self.state = RunnerState.STOPPED
            router.close("the connection to the core is closed")
            self._invocations.cancel_all()
            outbox.close()
            call.cancel()

    async def _serve(self, outbox: Outbox) -> ExitCode:
        reader = asyncio.ensure_future(self._read())
        writer = asyncio.ensure_future(outbox.run())
        shutdown = asyncio.ensure_future(self._shutdown_done.wait())
        try:
            pending: set[asyncio.Future[Any]] = {reader, writer, shutdown}
            while True:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if shutdown in done:
                    # Drained and half-closed: give the core a moment to end the stream.
                    await asyncio.wait({reader}, timeout=self._close_wait)
                    return ExitCode.OK
                if reader in done:
                    return self._exit_code(reader)
                if writer.cancelled() or writer.exception() is not None:
                    return self._exit_code(writer)
                # The writer ended because the drain closed the outbox: wait for the drain to finish.
        finally:
            for task in (reader, writer, shutdown):
                task.cancel()
            await asyncio.gather(reader, writer, shutdown, return_exceptions=True)

    def _exit_code(self, finished: asyncio.Future[None]) -> ExitCode:
        error = finished.exception() if not finished.cancelled() else None
        if isinstance(error, RefusedError):
            _log(str(error))
            return ExitCode.REFUSED
        if error is None:
            if self.state is RunnerState.DRAINING:
                return ExitCode.OK
            _log("the core closed the stream without a Shutdown; exiting")
            return ExitCode.FAILED
        if self.state is RunnerState.DRAINING:
            return ExitCode.OK
        aio = sys.modules.get("grpc.aio")  # imported only with MOTIA_RUNNER_TRANSPORT=grpc
        if aio is not None and isinstance(error, aio.AioRpcError):
            _log(f"the stream to the core failed: {error.code().name}: {error.details()}")
        elif isinstance(error, (ProtocolError, StreamClosedError)):
            _log(str(error))
        else:
            _log(f"internal error: {type(error).__name__}: {error}")
        return ExitCode.FAILED

    # -- reading ----------------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            frame = await self._call.read()
            if frame is self._eof:  # H2Call's None, grpc.aio's EOF
                return
            for message in frame.messages[:]:  # a list: iterating the field itself ends in an IndexError
                kind = message.WhichOneof("kind")
                if kind == "start" and self.state is not RunnerState.CONNECTING:
                    # Most envelopes start an invocation: straight there, no handler lookup.
                    assert self._invocations is not None
                    self._invocations.start(message.start)
                else:
                    self._dispatch(kind, message)

    def _dispatch(self, kind: str | None, message: pb.CoreMessage) -> None:
        if self.state is RunnerState.CONNECTING:
            self._handshake(kind, message)
            return
        handler = self._handlers.get(kind or "")
        if handler is not None:
            handler(self, message)
        # Unknown kinds come from a newer core speaking a compatible protocol: ignore them.

    def _handshake(self, kind: str | None, message: pb.CoreMessage) -> None:
        if kind == "refusal":
            refusal = message.refusal
            code = pb.Refusal.Code.Name(refusal.code) if refusal.code in pb.Refusal.Code.values() else refusal.code
            supported = f"core speaks protocol {refusal.core_protocol_min}..{refusal.core_protocol_max}"
            raise RefusedError(f"the core refused the connection: {code}: {refusal.message} ({supported})")
        if kind != "welcome":
            raise ProtocolError(f"expected Welcome or Refusal from the core, got {kind or 'an empty envelope'}")
        welcome = message.welcome
        if welcome.protocol_version != PROTOCOL_VERSION:
            raise ProtocolError(
                f"the core chose protocol {welcome.protocol_version}; this runner speaks {PROTOCOL_VERSION}"
            )
        self._max_message_bytes = welcome.max_message_bytes or DEFAULT_MAX_MESSAGE_BYTES
        limit = min(self._max_message_bytes, DEFAULT_MAX_MESSAGE_BYTES)
        assert self._outbox is not None and self._router is not None and self._invocations is not None
        self._outbox.max_frame_bytes = limit
        self._router.max_payload_bytes = max(limit - ENVELOPE_MARGIN_BYTES, limit // 2)
        self._invocations.max_payload_bytes = self._router.max_payload_bytes
        if welcome.project_dir and os.path.abspath(welcome.project_dir) != self._loader.project_dir:
            self._loader = StepLoader(welcome.project_dir)
        self.state = RunnerState.READY

    # -- envelope handlers ------------------------------------------------------------------------

    def _on_load_steps(self, message: pb.CoreMessage) -> None:
        request = message.load_steps
        sources = [StepSource(f.step_id, f.path, f.relative_path) for f in request.files]
        loaded, failed = self._loader.load(sources)
        reply = pb.RunnerMessage()
        answer = reply.steps_loaded
        answer.request_id = request.request_id
        for step in loaded:
            self.steps[step.step_id] = step
            manifest = answer.steps.add()
            manifest.step_id = step.step_id
            manifest.config_json = step.config_json
            manifest.has_handler = step.handler is not None
            manifest.middleware_count = len(step.middleware)
        for failure in failed:
            self.steps.pop(failure.step_id, None)
            error = answer.errors.add()
            error.step_id = failure.step_id
            error.error_type = failure.error_type
            error.message = failure.message
            error.stack = failure.stack
        self._put(reply)

    def _on_start(self, message: pb.CoreMessage) -> None:
        assert self._invocations is not None
        self._invocations.start(message.start)

    def _on_call_reply(self, message: pb.CoreMessage) -> None:
        assert self._router is not None
        self._router.resolve(message.call_reply)

    def _on_ping(self, message: pb.CoreMessage) -> None:
        reply = pb.RunnerMessage()
        reply.pong.nonce = message.ping.nonce
        self._put(reply)

    def _on_ignore(self, message: pb.CoreMessage) -> None:
        pass

    def _on_cancel(self, message: pb.CoreMessage) -> None:
        assert self._invocations is not None
        self._invocations.cancel(message.cancel)

    def _on_shutdown(self, message: pb.CoreMessage) -> None:
        if self.state is RunnerState.DRAINING:
            return  # already draining (a SIGTERM drain is not cut short by the core's grace)
        self._start_drain("shutdown", message.shutdown.grace_ms / 1000.0)

    _handlers: dict[str, Callable[[Session, pb.CoreMessage], None]] = {
        "load_steps": _on_load_steps,
        "start": _on_start,
        "call_reply": _on_call_reply,
        "ping": _on_ping,
        "pong": _on_ignore,
        "welcome": _on_ignore,
        "shutdown": _on_shutdown,
        "cancel": _on_cancel,
    }

    # -- draining ---------------------------------------------------------------------------------

    def _install_sigterm(self) -> bool:
        """Handle SIGTERM on the loop; False where that is impossible (not the main thread, Windows)."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    def _on_sigterm(self) -> None:
        if self.state is RunnerState.CONNECTING:
            # Nothing is in flight and the core does not know us yet: just go.
            _log("SIGTERM before the core's Welcome; exiting")
            self.state = RunnerState.DRAINING
            self._drain_reason = "SIGTERM"
            self._close_wait = 0.0
            self._shutdown_done.set()
            return
        if self.state is not RunnerState.READY:
            _log(f"SIGTERM while draining ({self._drain_reason}); still finishing the work in flight")
            return
        assert self._invocations is not None
        _log(f"SIGTERM: draining {len(self._invocations)} invocation(s) in flight, then exiting")
        message = pb.RunnerMessage()
        message.draining.reason = "SIGTERM"
        self._put(message)
        self._start_drain("SIGTERM", None)

    def _start_drain(self, reason: str, grace: float | None) -> None:
        self.state = RunnerState.DRAINING
        self._drain_reason = reason
        assert self._invocations is not None
        self._invocations.accepting = False
        self._shutdown_task = asyncio.get_running_loop().create_task(self._drain(grace))

    async def _drain(self, grace: float | None) -> None:
        """Wait for the work in flight (up to ``grace`` seconds, ``None``: all of it), flush, half-close."""
        assert self._invocations is not None and self._outbox is not None
        unfinished = await self._invocations.drain(grace)
        if unfinished:
            _log(f"shutdown: {unfinished} invocation(s) still running after {grace or 0:.1f}s; abandoning them")
            self._invocations.cancel_all()
        self._outbox.close()  # late envelopes (a log from an abandoned thread) must not race done_writing
        await self._outbox.flush()
        await self._call.done_writing()
        self._shutdown_done.set()

    # -- writing ----------------------------------------------------------------------------------

    def _put(self, message: pb.RunnerMessage) -> None:
        assert self._outbox is not None
        self._outbox.put(message)

    def _hello(self) -> pb.RunnerMessage:
        message = pb.RunnerMessage()
        hello = message.hello
        hello.protocol_min = PROTOCOL_VERSION
        hello.protocol_max = PROTOCOL_VERSION
        hello.runner_instance_id = str(uuid.uuid4())
        hello.language = "python"
        hello.runtime_version = runtime_version()
        hello.sdk_version = sdk_version
        hello.concurrency_slots = self.settings.slots
        hello.secret = self.settings.secret
        hello.pid = os.getpid()
        hello.capabilities.extend(CAPABILITIES)
        return message
