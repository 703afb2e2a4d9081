"""API steps on aiohttp: the Motia request shape in, the Motia response shape out.

Per request: read the body once, parse it once (only to answer bad JSON with a 400 and to validate
it against the step's compiled bodySchema), send the raw bytes to the runner beside a small JSON
payload (headers, path and query params; docs/protocol.md), one round trip to the runner, then send
the body the runner encoded without decoding it (response.py). Everything else (route table,
validators, step metadata) is built at start-up.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.http.body import BadBody, ParsedBody, add_value, parse_body_async, read_body
from motia_core.http.common import Handler, json_response
from motia_core.http.response import encoded_response, handler_response
from motia_core.limits import MAX_PAYLOAD_BYTES, size_message
from motia_core.logs import Logger
from motia_core.runners.http_body import BodyEncoding, HttpRequestBody
from motia_core.runners.transport import FailureKind, Trigger
from motia_core.schema import CompiledSchema
from motia_core.steps import Step
from motia_core.tracing import TraceStore, new_trace_id

PATH_PARAMS = "motia.path_params"  # request key: the path params when a live table routed it (live_routes.py)
# An empty body, parsed, and as sent to the runner: built once (both frozen; nothing writes to the
# {} the validator reads), not per GET (~0.8 µs each: a frozen dataclass sets its fields one by one)
_NO_BODY = ParsedBody(BodyEncoding.IN_PAYLOAD, {}, b"{}", b"")
_NO_HTTP_BODY = HttpRequestBody(b"", "", BodyEncoding.IN_PAYLOAD)


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
        raw = await read_body(request, request.client_max_size)  # = --max-body (http/app.py)
        if isinstance(raw, web.Response):
            return raw  # 413, before any runner sees the request
        content_type = request.headers.get("Content-Type", "")
        parsed: ParsedBody | BadBody
        if not raw:  # a GET's: parse_body's answer for any media type, without its await and checks
            parsed = _NO_BODY
        else:  # aiohttp reports a missing Content-Type as application/octet-stream; "" keeps them apart
            parsed = await parse_body_async(
                request.content_type if content_type else "", raw, content_type, value_needed=validator is not None
            )
        if isinstance(parsed, BadBody):
            return json_response(400, {"error": "Invalid request body", "message": parsed.reason})
        if validator is not None:
            problems = validator.errors(parsed.validation_value())
            if problems:
                return json_response(
                    400, {"error": "Request body failed validation", "errors": [p.as_json() for p in problems]}
                )
        trace_id = new_trace_id()
        traces.begin(trace_id, step.name)
        in_payload = parsed.encoding is BodyEncoding.IN_PAYLOAD  # form fields or {}: the runner cannot rebuild them
        payload = b"".join(
            (
                b'{"body":' + parsed.body_json + b"," if in_payload else b"{",
                b'"headers":',
                orjson.dumps(_headers(request.headers)),
                b',"pathParams":',
                orjson.dumps(path_params) if (path_params := request.get(PATH_PARAMS, request.match_info)) else b"{}",
                b',"queryParams":',
                orjson.dumps(_query(query)) if (query := request.query) else b"{}",
                b"}",
            )
        )
        # a GET without Content-Type (the usual one): the shared instance, one object less per request
        http_body = (
            _NO_HTTP_BODY
            if parsed is _NO_BODY and not content_type
            else HttpRequestBody(raw, content_type, parsed.encoding)
        )
        if len(payload) + len(raw) > MAX_PAYLOAD_BYTES:  # payload + body must fit in one runner message
            return json_response(
                413, {"error": "Payload too large", "message": size_message("the request", len(payload) + len(raw))}
            )
        try:
            # traceparent: OpenTelemetry's span of this run joins the caller's trace (otel.py)
            traceparent = request.headers.get("traceparent", "")
            outcome = await invoke(
                InvokeRequest(step, Trigger.API, payload, trace_id, traceparent=traceparent, http_body=http_body)
            )
        except RunnerError as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)}, trace_id)
        if outcome.failure is not None:
            if outcome.failure.kind is FailureKind.TIMEOUT:  # --api-timeout or the step's handler.timeout
                return json_response(504, {"error": "Gateway timeout", "message": outcome.failure.message}, trace_id)
            return json_response(500, {"error": "Internal server error"}, trace_id)
        if outcome.http is not None:  # the runner encoded the body: sent as is
            return encoded_response(step, outcome.http, trace_id, logger)
        if not outcome.payload:
            logger.error(f"{step.name} returned no response", step=step.name, trace_id=trace_id)
            return json_response(500, {"error": "Internal server error"}, trace_id)
        return handler_response(step, outcome.payload, trace_id, logger)

    return handle


def _headers(headers: MultiMapping[str]) -> dict[str, str]:
    # one comprehension for the usual request, where no name repeats (the dict is as long as the
    # headers); a repeated name is joined with ", " as Node's IncomingMessage.headers does
    fast = {key.lower(): value for key, value in headers.items()}
    if len(fast) == len(headers):
        return fast
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
