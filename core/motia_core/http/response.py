"""A handler's result ({status, body, headers}) mapped to an aiohttp response."""

from __future__ import annotations

import orjson
from aiohttp import web

from motia_core.http.common import CORS_HEADERS, TRACE_HEADER, json_response
from motia_core.logs import Logger
from motia_core.steps import Step


def handler_response(step: Step, payload: bytes, trace_id: str, logger: Logger) -> web.StreamResponse:
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
