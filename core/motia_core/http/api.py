"""API steps on aiohttp: the Motia request shape in, the Motia response shape out.

Per request: read the body once, parse it once, validate it against the step's compiled
bodySchema, splice the raw JSON bytes into the invocation payload (no re-encoding), one round trip
to the runner, map the result. Everything else (route table, validators, step metadata) is built at
start-up.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.http.body import BadBody, add_value, parse_body_async, read_body
from motia_core.http.common import Handler, json_response
from motia_core.http.response import handler_response
from motia_core.limits import MAX_PAYLOAD_BYTES, size_message
from motia_core.logs import Logger
from motia_core.runners.transport import FailureKind, Trigger
from motia_core.schema import CompiledSchema
from motia_core.steps import Step
from motia_core.tracing import TraceStore, new_trace_id

API_STEP = "motia.api_step"  # request key: the API step whose handler took the request
PATH_PARAMS = "motia.path_params"  # request key: the path params when a live table routed it (live_routes.py)


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


def api_handler(
    step: Step, validator: CompiledSchema | None, invoke: Invoke, traces: TraceStore, logger: Logger
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        request[API_STEP] = step.name  # /metrics counts the response under its step (http/metrics.py)
        raw = await read_body(request, request.client_max_size)  # = --max-body (http/app.py)
        if isinstance(raw, web.Response):
            return raw  # 413, before any runner sees the request
        parsed = await parse_body_async(request.content_type, raw, request.headers.get("Content-Type", ""))
        if isinstance(parsed, BadBody):
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
                orjson.dumps(request.get(PATH_PARAMS, request.match_info)),
                b',"queryParams":',
                orjson.dumps(_query(request.query)),
                b',"rawBody":',
                orjson.dumps(raw.decode("utf-8", errors="replace")),
                b"}",
            )
        )
        if len(payload) > MAX_PAYLOAD_BYTES:  # body + rawBody + headers must fit in one runner message
            return json_response(
                413, {"error": "Payload too large", "message": size_message("the request", len(payload))}
            )
        try:
            # traceparent: OpenTelemetry's span of this run joins the caller's trace (otel.py)
            traceparent = request.headers.get("traceparent", "")
            outcome = await invoke(InvokeRequest(step, Trigger.API, payload, trace_id, traceparent=traceparent))
        except RunnerError as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)}, trace_id)
        if outcome.failure is not None:
            if outcome.failure.kind is FailureKind.TIMEOUT:  # --api-timeout or the step's handler.timeout
                return json_response(504, {"error": "Gateway timeout", "message": outcome.failure.message}, trace_id)
            return json_response(500, {"error": "Internal server error"}, trace_id)
        if not outcome.payload:
            logger.error(f"{step.name} returned no response", step=step.name, trace_id=trace_id)
            return json_response(500, {"error": "Internal server error"}, trace_id)
        return handler_response(step, outcome.payload, trace_id, logger)

    return handle


def _headers(headers: MultiMapping[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


def _query(query: MultiMapping[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query.items():
        add_value(out, key, value)
    return out
