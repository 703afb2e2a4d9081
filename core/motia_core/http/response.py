"""A handler's result ({status, body, headers}) mapped to an aiohttp response.

A result that cannot become a faithful HTTP response is answered with a JSON 500 that names the
step and the field ("headers.X-A: ...", "body.items[2]: ..."), and logged with the step and trace
id: never a dropped connection, an aiohttp text 500, or a silently altered value. Checked: the
status (an integer 100-599), header names (HTTP tokens) and values (scalars or lists of scalars,
without CR, LF or other control characters), Buffer bytes (integers 0-255), and numbers JSON
clients cannot carry exactly (integers beyond +-(2^53-1), NaN, Infinity).

Cost on the common path: orjson parses the payload once (as before) and one byte scan looks for a
run of 16+ digits; only a payload with such a run (or one orjson refuses) is parsed again with the
standard library, which keeps big integers exact, and walked.

A runner with the http_body_bytes capability sends the response already split (status, headers
JSON, body bytes and what kind of body: proto HttpResponse); `encoded_response` then parses only the
headers and writes the body as it came. A JSON body is scanned, not parsed: only one with a 16+
digit run, or Node's {"type": "Buffer"} shape, is parsed to check or convert it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

from motia_core.http.common import CORS_HEADERS, TRACE_HEADER, json_response
from motia_core.http.wire_response import WireResponse
from motia_core.logs import Logger
from motia_core.runners.http_body import BodyKind, HttpResult
from motia_core.steps import Step

MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER: what every JSON client carries exactly
# A run of 16+ digits (2**53 has 16; shorter integers are always exact), found by mapping every digit
# to "0" and everything else to " ": bytes.translate + find run ~10x faster than re's \d{16}.
_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_RUN = 16
_LONG_RUN = b"0" * _RUN  # a body shorter than this cannot hold one: not scanned
_CORS = CIMultiDict(CORS_HEADERS)  # copied per response: a copy costs a quarter of a new CIMultiDict
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name, as Node's setHeader checks
_BAD_VALUE_CHAR = re.compile(r"[^\t\x20-\x7e\x80-\xff]")  # what Node's setHeader refuses in a value


class _BadResult(Exception):
    """A handler result that cannot be sent: `field` names where, `public` says what (no values),
    `detail` adds the offending value for the log."""

    def __init__(self, field: str, public: str, detail: str = "") -> None:
        self.field = field
        self.public = public
        self.detail = detail or public
        super().__init__(f"{field}: {public}")


class _NonFinite:
    """NaN / Infinity / -Infinity as the standard library's parser found them (not JSON)."""

    def __init__(self, text: str) -> None:
        self.text = text


def handler_response(step: Step, payload: bytes, trace_id: str, logger: Logger) -> web.StreamResponse:
    """The response for a handler result sent as JSON (Completed.payload_json)."""
    return _checked(step, trace_id, logger, _response, payload)


def encoded_response(step: Step, result: HttpResult, trace_id: str, logger: Logger) -> web.StreamResponse:
    """The response for a result the runner encoded (Completed.http_response): the body goes out
    as the runner wrote it."""
    return _checked(step, trace_id, logger, _encoded, result)


def _checked(step: Step, trace_id: str, logger: Logger, build: Any, result: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = build(step, result, trace_id)
        return response
    except _BadResult as bad:
        logger.error(
            f"{step.name} returned an invalid response: {bad.field}: {bad.detail}",
            step=step.name,
            trace_id=trace_id,
            field=bad.field,
        )
        message = f"{step.name} returned an invalid response: {bad.field}: {bad.public}"
        return json_response(500, {"error": "Internal server error", "message": message}, trace_id)


def _response(
    step: Step, payload: bytes, trace_id: str, checked_headers: CIMultiDict[str] | None = None
) -> web.StreamResponse:
    result, exact = _parse(payload)
    if not isinstance(result, dict):
        raise _BadResult("result", f"expected an object {{status, body, headers?}}, got {_kind(result)}")
    status = result.get("status", 200)
    if type(status) is not int or not 100 <= status <= 599:
        raise _BadResult(
            "status", "expected an integer HTTP status 100-599", f"expected an integer 100-599, got {status!r}"
        )
    if checked_headers is not None:  # from _encoded: already built
        headers = checked_headers
    else:
        headers = _CORS.copy()
        for name, values in _headers(result.get("headers")):
            headers.popall(name, None)  # the handler's header replaces a default of the same name
            for value in values:
                headers.add(name, value)
        headers[TRACE_HEADER] = trace_id
    body = result.get("body")
    if isinstance(body, str):
        ctype = headers.popone("Content-Type", "") or "text/plain; charset=utf-8"
        headers["Content-Type"] = ctype
        return web.Response(status=status, text=body, headers=headers)
    if isinstance(body, dict) and body.get("type") == "Buffer" and isinstance(body.get("data"), list):
        ctype = headers.popone("Content-Type", "") or "application/octet-stream"
        headers["Content-Type"] = ctype
        return web.Response(status=status, body=_buffer(body["data"]), headers=headers)
    if status in (204, 304) or (body is None and "body" not in result):
        return web.Response(status=status, headers=headers)
    if exact:  # only the slow parse can hold integers beyond 2^53 or NaN/Infinity
        _check_numbers(body, "body")
    headers["Content-Type"] = headers.popone("Content-Type", "") or "application/json"
    return web.Response(status=status, body=orjson.dumps(body), headers=headers)


_DEFAULT_TYPES: dict[int, str] = {  # keyed by the wire's int: BodyKind(kind) costs ~1 µs a response
    BodyKind.JSON: "application/json",
    BodyKind.TEXT: "text/plain; charset=utf-8",
    BodyKind.BINARY: "application/octet-stream",
}
_NODE_BUFFER = b'{"type":"Buffer","data":['  # JSON.stringify(Buffer) / a dict shaped like it


def _encoded(step: Step, result: HttpResult, trace_id: str) -> web.StreamResponse:
    status = result.status or 200
    if not 100 <= status <= 599:
        raise _BadResult(
            "status", "expected an integer HTTP status 100-599", f"expected an integer 100-599, got {status}"
        )
    headers: CIMultiDict[str] | None = None
    if result.headers_json:
        headers = _CORS.copy()
        for name, values in _headers(_parse(result.headers_json)[0]):
            headers.popall(name, None)  # the handler's header replaces a default of the same name
            for value in values:
                headers.add(name, value)
        headers[TRACE_HEADER] = trace_id
    kind = result.body_kind
    if status in (204, 304) or kind == BodyKind.NONE:
        if headers is None:
            headers = _CORS.copy()
            headers.add(TRACE_HEADER, trace_id)
        return web.Response(status=status, headers=headers)
    if kind not in _DEFAULT_TYPES:
        raise _BadResult("body", f"unknown body kind {kind} from the runner")
    body = result.body
    if kind == BodyKind.JSON:
        if body.startswith(_NODE_BUFFER):  # a {type: "Buffer", data} object is bytes, as in Motia
            if headers is None:
                headers = _CORS.copy()
                headers.add(TRACE_HEADER, trace_id)
            return _response(step, b'{"status":%d,"body":%s}' % (status, body), trace_id, headers)
        # NaN / Infinity are not scanned for: a JSON body_kind is RFC 8259 JSON by the protocol, and
        # the runners' encoders write null (orjson, JSON.stringify) or refuse (Ruby); the Python
        # runner's standard-library fallback, which writes NaN, runs only for an integer beyond 64
        # bits, whose digit run sends the body through the full parse below.
        if len(body) >= _RUN and body.translate(_DIGITS_TO_ZERO).find(_LONG_RUN) >= 0:
            value, exact = _parse(body)
            if exact:
                _check_numbers(value, "body")
    if headers is None:  # the common case: Motia's default headers, the head written in one piece
        return WireResponse(status, body, trace_id, _DEFAULT_TYPES[kind])
    headers["Content-Type"] = headers.popone("Content-Type", "") or _DEFAULT_TYPES[kind]
    return web.Response(status=status, body=body, headers=headers)


def _parse(payload: bytes) -> tuple[Any, bool]:
    """orjson on the common path. orjson turns an integer beyond 64 bits into a float (precision
    lost without a word) and refuses NaN: a payload with a long digit run, or one orjson refuses,
    is parsed again by the standard library, which keeps every integer exact."""
    try:
        result = orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    else:
        if len(payload) < _RUN or payload.translate(_DIGITS_TO_ZERO).find(_LONG_RUN) < 0:
            return result, False
    try:
        return json.loads(payload, parse_constant=_NonFinite), True
    except (ValueError, RecursionError) as exc:
        raise _BadResult("result", "is not JSON", f"is not JSON: {exc}") from None


def _headers(raw: Any) -> list[tuple[str, list[str]]]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise _BadResult("headers", f"expected an object of header names to values, got {_kind(raw)}")
    out: list[tuple[str, list[str]]] = []
    for name, value in raw.items():
        if _TOKEN.fullmatch(name) is None:
            shown = json.dumps(name)[:60]
            rule = "a header name must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)"
            raise _BadResult("headers", rule, f"{rule}, got {shown}")
        if type(value) is str and _BAD_VALUE_CHAR.search(value) is None:  # the common case, checked once
            out.append((name, [value]))
        elif value is not None:  # JSON null: no header, as an absent key
            field = f"headers.{name}"
            items = value if isinstance(value, list) else [value]  # a list: one line per item (Set-Cookie)
            out.append((name, [_header_value(field, v, isinstance(value, list)) for v in items]))
    return out


def _header_value(field: str, value: Any, in_list: bool) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        text = str(value)
    else:
        what = "an array of strings" if in_list else "a string, number or array of strings"
        raise _BadResult(field, f"expected {what}, got {_kind(value)}")
    bad = _BAD_VALUE_CHAR.search(text)
    if bad is not None:
        char = bad.group()
        what = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)"}.get(char, f"the character {char!r}")
        raise _BadResult(field, f"value contains {what}, which an HTTP header cannot carry")
    return text


def _buffer(data: list[Any]) -> bytes:
    try:
        return bytes(data)
    except (ValueError, TypeError):
        pass
    for i, byte in enumerate(data):
        if type(byte) is not int or not 0 <= byte <= 255:
            rule = "a Buffer byte must be an integer 0-255"
            raise _BadResult(f"body.data[{i}]", rule, f"{rule}, got {byte!r}")
    raise _BadResult("body.data", "is not a list of bytes")  # pragma: no cover - bytes() accepts the rest


def _check_numbers(value: Any, where: str) -> None:
    """Integers JSON clients cannot carry exactly and NaN/Infinity are refused, naming the field."""
    found = _find_number(value)
    if found is None:
        return
    node, steps = found
    path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in reversed(steps))
    if type(node) is int:
        what = "integer cannot be carried exactly by JSON clients (limit +-2^53-1); send it as a string"
        raise _BadResult(path, what, f"integer {node} " + what.removeprefix("integer "))
    text = node.text if isinstance(node, _NonFinite) else str(node)
    raise _BadResult(path, f"{text} is not a JSON number; send null or a string")


def _find_number(node: Any) -> tuple[Any, list[str | int]] | None:
    """The first unsafe number under `node` and its path (innermost key first); paths are built
    only on the way out of a hit, so a clean walk allocates nothing per value."""
    kind = type(node)
    if kind is dict:
        for key, value in node.items():
            if type(value) in _SCALARS:
                continue
            hit = _find_number(value)
            if hit is not None:
                hit[1].append(key)
                return hit
    elif kind is list:
        for i, value in enumerate(node):
            if type(value) in _SCALARS:
                continue
            hit = _find_number(value)
            if hit is not None:
                hit[1].append(i)
                return hit
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= node <= MAX_SAFE_INTEGER:
            return node, []
    elif kind is float:
        if not math.isfinite(node):
            return node, []
    elif kind is _NonFinite:
        return node, []
    return None


_SCALARS = frozenset({str, bool, type(None)})


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number"}.get(
        type(value), "null" if value is None else "a number" if isinstance(value, float) else type(value).__name__
    )
