"""API steps on aiohttp: the Motia request shape in, the Motia response shape out.

Per request: read the body once, parse it once, validate it against the step's compiled
bodySchema, splice the raw JSON bytes into the invocation payload (no re-encoding), one round trip
to the runner, map the result. Everything else (route table, validators, step metadata) is built at
start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web
from multidict import MultiMapping

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.logs import Logger
from motia_core.runners.transport import Trigger
from motia_core.schema import CompiledSchema
from motia_core.steps import Step
from motia_core.tracing import TraceStore, new_trace_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TRACE_HEADER = "x-motia-trace-id"

# Motia sends these on every response. Added per response rather than by an aiohttp middleware:
# a middleware wraps every request in two more calls, measurable on the hot path.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "600",
}


def aiohttp_path(path: str) -> str:
    """Express-style '/users/:id' -> aiohttp '/users/{id}'."""
    parts = []
    for part in path.split("/"):
        if part.startswith(":") and len(part) > 1:
            name = part[1:].rstrip("?")
            parts.append("{" + name + "}")
        else:
            parts.append(part)
    return "/".join(parts)


def json_response(status: int, doc: object, trace_id: str | None = None) -> web.Response:
    headers = {**CORS_HEADERS, TRACE_HEADER: trace_id} if trace_id else CORS_HEADERS
    return web.Response(status=status, body=orjson.dumps(doc), content_type="application/json", headers=headers)


def api_handler(
    step: Step, validator: CompiledSchema | None, invoke: Invoke, traces: TraceStore, logger: Logger
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            return json_response(413, {"error": "Payload too large", "message": exc.text or ""})
        parsed = _parse_body(request.content_type, raw)
        if isinstance(parsed, _BadBody):
            return json_response(400, {"error": "Invalid request body", "message": parsed.reason})
        body, body_json = parsed
        if validator is not None:
            problems = validator.errors(body)
            if problems:
                return json_response(
                    400, {"error": "Request body failed validation", "errors": [p.as_json() for p in problems]}
                )
        trace_id = new_trace_id()
        traces.begin(trace_id, step.name)
        payload = b"".join(
            (
                b'{"body":',
                body_json,
                b',"headers":',
                orjson.dumps(_headers(request.headers)),
                b',"pathParams":',
                orjson.dumps(request.match_info),
                b',"queryParams":',
                orjson.dumps(_query(request.query)),
                b',"rawBody":',
                orjson.dumps(raw.decode("utf-8", errors="replace")),
                b"}",
            )
        )
        try:
            outcome = await invoke(InvokeRequest(step, Trigger.API, payload, trace_id))
        except RunnerError as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)}, trace_id)
        if outcome.failure is not None:
            return json_response(500, {"error": "Internal server error"}, trace_id)
        if not outcome.payload:
            logger.error(f"{step.name} returned no response", step=step.name, trace_id=trace_id)
            return json_response(500, {"error": "Internal server error"}, trace_id)
        return _response(step, outcome.payload, trace_id, logger)

    return handle


class _BadBody:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse_body(content_type: str, raw: bytes) -> tuple[Any, bytes] | _BadBody:
    """(value, its JSON encoding) as Motia's body parsers would produce it."""
    if not raw.strip():
        return {}, b"{}"
    if (
        content_type == "application/json"
        or content_type.endswith("+json")
        or (content_type in ("", "application/octet-stream") and raw.lstrip()[:1] in (b"{", b"["))
    ):
        try:
            return orjson.loads(raw), raw
        except orjson.JSONDecodeError as exc:
            return _BadBody(f"malformed JSON: {exc}")
    if content_type == "application/x-www-form-urlencoded":
        form: dict[str, Any] = {}
        for key, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
            _add(form, key, value)
        return form, orjson.dumps(form)
    text = raw.decode("utf-8", errors="replace")
    return text, orjson.dumps(text)


def _add(target: dict[str, Any], key: str, value: str) -> None:
    old = target.get(key)
    if old is None:
        target[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        target[key] = [old, value]


def _headers(headers: MultiMapping[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


def _query(query: MultiMapping[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query.items():
        _add(out, key, value)
    return out


def _response(step: Step, payload: bytes, trace_id: str, logger: Logger) -> web.StreamResponse:
    try:
        result = orjson.loads(payload)
    except orjson.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        logger.error(
            f"{step.name} returned {type(result).__name__}, expected {{status, body, headers?}}",
            step=step.name,
            trace_id=trace_id,
        )
        return json_response(500, {"error": "Internal server error"}, trace_id)
    status = result.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        logger.error(f"{step.name} returned an invalid status {status!r}", step=step.name, trace_id=trace_id)
        return json_response(500, {"error": "Internal server error"}, trace_id)
    headers = {**CORS_HEADERS, **{str(k): str(v) for k, v in (result.get("headers") or {}).items()}}
    headers[TRACE_HEADER] = trace_id
    body = result.get("body")
    if isinstance(body, str):
        ctype = _pop_ci(headers, "content-type") or "text/plain; charset=utf-8"
        return web.Response(status=status, text=body, headers={**headers, "Content-Type": ctype})
    if isinstance(body, dict) and body.get("type") == "Buffer" and isinstance(body.get("data"), list):
        ctype = _pop_ci(headers, "content-type") or "application/octet-stream"
        return web.Response(status=status, body=bytes(body["data"]), headers={**headers, "Content-Type": ctype})
    if status in (204, 304) or (body is None and "body" not in result):
        return web.Response(status=status, headers=headers)
    ctype = _pop_ci(headers, "content-type") or "application/json"
    return web.Response(status=status, body=orjson.dumps(body), headers={**headers, "Content-Type": ctype})


def _pop_ci(headers: dict[str, str], name: str) -> str | None:
    for key in list(headers):
        if key.lower() == name:
            return headers.pop(key)
    return None
