"""Access control for stream WebSocket clients (docs/streams.md#access-control).

Two functions from the project, each run in the runner of its file's language like a step:

* the stream auth file (``steps/stream-auth.ts``, ``src/stream_auth.py``, ...) turns the token of a
  connection (``?authToken=`` or ``Sec-WebSocket-Protocol: Authorization,<token>``) into an auth
  context when the connection opens: ``handler({headers, url, authToken}, ctx)``. Throwing rejects
  the handshake with 401 ``Authentication failed``, as Motia does;
* a stream's ``config.canAccess(subscription, authContext)`` decides every join; anything but
  ``true`` (or a failure, or no answer in time) denies it.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.logs import Logger
from motia_core.runners.transport import Trigger
from motia_core.steps import Step, StepType
from motia_core.streams.config import AuthHook, StreamDef
from motia_core.tracing import new_trace_id

DECISION_TIMEOUT = 10.0  # seconds an auth or canAccess function may take


def _step(definition: StreamDef | AuthHook, name: str) -> Step:
    """The stream or auth file as the dispatcher's unit of work (never routed or subscribed)."""
    return Step(file=definition.file, type=StepType.NOOP, name=name, config=definition.config)


def _json_response(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


class StreamAccess:
    def __init__(self, invoke: Invoke, logger: Logger, auth: AuthHook | None = None) -> None:
        self._invoke = invoke
        self._logger = logger
        self._auth = _step(auth, "streamAuth") if auth is not None else None
        self._can_access: dict[str, Step] = {}

    @property
    def has_auth(self) -> bool:
        return self._auth is not None

    async def authenticate(self, request: web.Request, token: str | None) -> tuple[web.Response | None, bytes]:
        """(a response that rejects the handshake, or None; the auth context JSON)."""
        step = self._auth
        if step is None:
            return None, b"null"
        payload = orjson.dumps(
            {
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "url": request.path_qs,
                "authToken": token,
            }
        )
        try:
            outcome = await asyncio.wait_for(
                self._invoke(InvokeRequest(step, Trigger.STREAM_AUTH, payload, new_trace_id())), DECISION_TIMEOUT
            )
        except (RunnerError, TimeoutError) as exc:
            self._logger.error(f"stream authentication could not run: {exc}", source="streams")
            return _json_response(503, "Service unavailable"), b"null"
        if outcome.failure is not None:
            f = outcome.failure
            self._logger.info(
                f"stream connection rejected by {step.file.relative_path}: {f.error_type}: {f.message}",
                source="streams",
                peer=request.remote or "?",
            )
            return _json_response(401, "Authentication failed"), b"null"
        return None, outcome.payload or b"null"

    async def can_access(self, stream: StreamDef, group_id: str, item_id: str, auth_context: bytes) -> bool:
        step = self._can_access.get(stream.name)
        if step is None:
            step = self._can_access[stream.name] = _step(stream, f"{stream.name}.canAccess")
        subscription: dict[str, str] = {"groupId": group_id}
        if item_id:
            subscription["id"] = item_id
        payload = b'{"subscription":' + orjson.dumps(subscription) + b',"authContext":' + auth_context + b"}"
        try:
            outcome = await asyncio.wait_for(
                self._invoke(InvokeRequest(step, Trigger.STREAM_ACCESS, payload, new_trace_id())), DECISION_TIMEOUT
            )
        except (RunnerError, TimeoutError) as exc:
            self._logger.error(f"{stream.name}.canAccess could not run: {exc}; access denied", source="streams")
            return False
        if outcome.failure is not None:
            f = outcome.failure
            self._logger.warn(
                f"{stream.name}.canAccess failed, access denied: {f.error_type}: {f.message}",
                source="streams",
                stack=f.stack,
            )
            return False
        return outcome.payload.strip() == b"true"
