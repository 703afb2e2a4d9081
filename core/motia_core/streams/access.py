"""Access control for stream WebSocket clients (docs/streams.md#access-control).

Two functions from the project, each run in the runner of its file's language like a step:

* the stream auth file (``steps/stream-auth.ts``, ``src/stream_auth.py``, ...) turns the token of a
  connection (``?authToken=`` or ``Sec-WebSocket-Protocol: Authorization,<token>``) into an auth
  context when the connection opens: ``handler({headers, url, authToken}, ctx)``. Throwing rejects
  the handshake with 401 ``Authentication failed``, as Motia does;
* a stream's ``config.canAccess(subscription, authContext)`` decides every join; anything but
  ``true`` (or a failure, or no answer in time) denies it.

The auth hook may instead be ``streamAuth.authenticate`` of Motia's ``motia.config.ts``
(project_config.py): the same invocation, run by the Node runner that loaded the config file. Either
hook's ``contextSchema`` is enforced on a non-null auth context: one that fails it refuses the
handshake with 401 and a logged reason, since canAccess functions trust the context's shape.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.logs import Logger
from motia_core.runners.transport import Trigger
from motia_core.schema import CompiledSchema, compile_schema
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
        self._context_schema: CompiledSchema | None = None
        if auth is not None:
            # validated when the hook was read (streams/config.py, project_config.py)
            self._context_schema, _problem = compile_schema(auth.context_schema)
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
        context = outcome.payload or b"null"
        problem = self._check_context(context)
        if problem is not None:
            self._logger.warn(
                f"stream connection rejected: the auth context {step.file.relative_path} returned {problem}",
                source="streams",
                peer=request.remote or "?",
            )
            return _json_response(401, "Authentication failed"), b"null"
        return None, context

    def _check_context(self, context: bytes) -> str | None:
        """Why an auth context fails the hook's contextSchema, or None. null is an anonymous connection,
        which authenticate may always answer (Motia's type: `context | null`)."""
        if self._context_schema is None or context.strip() == b"null":
            return None
        try:
            value = orjson.loads(context)
        except orjson.JSONDecodeError as exc:
            return f"is not JSON ({exc})"
        errors = self._context_schema.errors(value)
        if not errors:
            return None
        listed = "; ".join(f"{e.path or '/'}: {e.message}" for e in errors[:5])
        return f"does not match its contextSchema: {listed}"

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
