"""API bodies as bytes (``StartInvocation.http_body`` / ``Completed.http_response``, docs/protocol.md).

The core sends an API request's body once, as bytes, because this runner announces the
``http_body_bytes`` capability: ``body`` / ``rawBody`` are built here (``bytes`` for a binary body,
never decoded), and the handler's response goes back split, its body encoded once (``bytes`` /
``bytearray`` / ``memoryview`` as is, ``str`` as UTF-8, anything else as JSON) for the core to
send without decoding it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from motia import _json
from motia._errors import NotJsonError

from .proto import pb

_BODY_BYTES = (bytes, bytearray, memoryview)


class HttpResponseParts(NamedTuple):
    """An API response encoded for ``Completed.http_response``."""

    status: int
    headers_json: bytes
    body: bytes
    kind: int


class BadResult(Exception):
    """The handler's response cannot be sent (not JSON, too large): a BAD_RESULT failure."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def add_body(request: Any, http_body: pb.HttpRequestBody) -> None:
    """``body`` and ``rawBody`` from the raw bytes, as ``http_body.encoding`` says. Raises
    ValueError for a JSON body that does not parse (the core checked it does)."""
    raw = http_body.raw
    encoding = http_body.encoding
    if encoding == pb.HttpRequestBody.BODY_ENCODING_BINARY:
        request["body"] = request["rawBody"] = raw  # bytes, never decoded
        return
    text = raw.decode("utf-8", errors="replace")
    request["rawBody"] = text
    if encoding == pb.HttpRequestBody.BODY_ENCODING_JSON:
        request["body"] = _json.loads(raw)
    elif encoding == pb.HttpRequestBody.BODY_ENCODING_TEXT:
        request["body"] = text
    # BODY_ENCODING_IN_PAYLOAD: body came in payload_json


def encode_response(value: dict[str, Any], limit: int) -> HttpResponseParts | None:
    """``{status?, headers?, body?}`` split and encoded; None when the status is not an integer
    100-599 (the runner then sends the whole value as payload_json and the core reports it)."""
    status = value.get("status", 0)
    if type(status) is not int or not (status == 0 and "status" not in value or 100 <= status <= 599):
        return None
    headers = value.get("headers")
    headers_json = b"" if headers is None else _dumps(headers, "headers")
    if "body" not in value:
        body, kind = b"", pb.HttpResponse.BODY_KIND_NONE
    else:
        raw = value["body"]
        if isinstance(raw, _BODY_BYTES):
            body, kind = bytes(raw), pb.HttpResponse.BODY_KIND_BINARY
        elif isinstance(raw, str):
            body, kind = raw.encode("utf-8", errors="surrogatepass"), pb.HttpResponse.BODY_KIND_TEXT
        else:
            body, kind = _dumps(raw, "body"), pb.HttpResponse.BODY_KIND_JSON
    size = len(body) + len(headers_json)
    if size > limit:
        raise BadResult("ResultTooLarge", f"the handler returned a response of {size} bytes, above the {limit} allowed")
    return HttpResponseParts(status, headers_json, body, kind)


def _dumps(value: Any, field: str) -> bytes:
    try:
        return _json.dumps(value)
    except NotJsonError as exc:
        raise BadResult("NotJsonError", f"the handler returned a {field} that is not JSON: {exc}") from None
