"""An in-process RunnerSession for tests of the layers above the transport.

Steps are Python callables `(payload, FakeContext) -> bytes | HttpResult | None`; calls they make
go to the core's CallHandler exactly as a real runner's would, minus the process and the wire. An
`HttpResult` is an API response encoded runner-side, as the real runners send it (Completed.http_response).

The bench's floor experiment (bench/benchlib/floor_server.py) also serves API requests through it, to
price the layers above the transport: so the fake itself stays cheap (no task per call while a slot
is free) and can be told not to keep every invocation.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from motia_core.errors import AdmissionTimeout, RunnerLost
from motia_core.project import StepFile
from motia_core.runners.http_body import HTTP_BODY_CAPABILITY, HttpResult
from motia_core.runners.transport import (
    CallHandler,
    Failure,
    FailureKind,
    Invocation,
    InvocationScope,
    Manifest,
    ManifestEntry,
    Outcome,
    RunnerInfo,
)


@dataclass
class FakeContext:
    scope: InvocationScope
    invocation: Invocation
    calls: CallHandler

    async def emit(self, topic: str, data: object, group_id: str = "") -> None:
        await self.calls.emit(self.scope, topic, orjson.dumps(data), group_id)

    async def state_get(self, group_id: str, key: str) -> object:
        return orjson.loads(await self.calls.state_get(self.scope, group_id, key))

    async def state_set(self, group_id: str, key: str, value: object) -> object:
        return orjson.loads(await self.calls.state_set(self.scope, group_id, key, orjson.dumps(value)))


FakeResult = bytes | HttpResult | None
FakeHandler = Callable[[bytes, FakeContext], Awaitable[FakeResult] | FakeResult]


class FakeSession:
    def __init__(
        self,
        handlers: dict[str, FakeHandler],
        calls: CallHandler,
        configs: dict[str, dict[str, object]] | None = None,
        language: str = "python",
        slots: int = 64,
        keep_invocations: bool = True,
    ) -> None:
        self.handlers = handlers
        self.configs = configs or {}
        self.calls = calls
        self.info = RunnerInfo(language, "fake", "fake", "fake-0", 0, slots, 1)
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._slots = asyncio.Semaphore(slots)
        self._in_flight = 0
        self.invocations: list[Invocation] = []
        self.keep_invocations = keep_invocations  # False under load: the list would grow without bound

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def load_steps(self, files: list[StepFile], timeout: float) -> Manifest:
        return Manifest(
            steps=[
                ManifestEntry(f.step_id, orjson.dumps(self.configs[f.step_id]), f.step_id in self.handlers)
                for f in files
                if f.step_id in self.configs
            ]
        )

    async def invoke(
        self,
        invocation: Invocation,
        scope: InvocationScope,
        admission_timeout: float,
        timeout: float | None = None,
    ) -> Outcome:
        if self.closed.done():
            raise RunnerLost("fake runner closed")
        if self._slots.locked():  # wait_for costs a task: only when the call has to wait
            try:
                await asyncio.wait_for(self._slots.acquire(), admission_timeout)
            except TimeoutError:
                raise AdmissionTimeout("no free fake slot") from None
        else:
            await self._slots.acquire()  # free: returns without suspending
        self._in_flight += 1
        if self.keep_invocations:
            self.invocations.append(invocation)
        try:
            handler = self.handlers.get(invocation.step_id)
            if handler is None:
                return Outcome(failure=Failure(FailureKind.UNKNOWN_STEP, "UnknownStep", invocation.step_id))
            try:
                # as GrpcSession: without the http_body_bytes capability (the default here) an API call
                # gets the first payload shape; with it, the body is in invocation.http_body
                body = invocation.http_body
                legacy = body is not None and HTTP_BODY_CAPABILITY not in self.info.capabilities
                payload = body.legacy_payload(invocation.payload) if legacy and body else invocation.payload
                result = handler(payload, FakeContext(scope, invocation, self.calls))
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(result, timeout)
            except TimeoutError:
                return Outcome(failure=Failure(FailureKind.TIMEOUT, "TimeoutError", f"timed out after {timeout}s"))
            except Exception as exc:
                return Outcome(
                    failure=Failure(FailureKind.HANDLER_ERROR, type(exc).__name__, str(exc), traceback.format_exc())
                )
            if isinstance(result, HttpResult):
                return Outcome(http=result)
            return Outcome(payload=result or b"")
        finally:
            self._in_flight -= 1
            self._slots.release()

    async def ping(self, timeout: float) -> float:
        return 0.0

    async def shutdown(self, grace: float, reason: str) -> None:
        self.abort(reason)

    def abort(self, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result(reason)
