"""API request bodies: read within --max-body, classified by Content-Type (BodyEncoding: how every
runner builds ``body`` / ``rawBody`` from the bytes) and parsed as Motia's body parsers would.

* JSON (application/json, */*+json, or no Content-Type and a body starting with { or [): parsed here
  only to answer malformed JSON with a 400 and to validate bodySchema; the runner gets the bytes. A
  big body with no bodySchema is only checked to be well formed (json_check), not built.
* Forms (urlencoded, multipart): parsed here; the runner gets the fields as JSON.
* Text (text/*, XML, JavaScript, ...; or no Content-Type and valid UTF-8): the runner decodes it.
* Anything else (application/octet-stream, image/*, application/protobuf, ...) is binary: it reaches
  the step as bytes, never decoded.

* Size: a declared Content-Length over the limit is refused before a byte of the body is read;
  a chunked body is counted while it is read and refused as soon as it passes the limit. The 413
  closes the connection, so the client cannot keep streaming an unread body at us.
* Big bodies (over ``THREAD_THRESHOLD``) are parsed in a worker thread: parse_qsl and the
  multipart parser are Python code that would otherwise hold the event loop for seconds on a
  60 MB form, stalling every other request.
* JSON nesting is capped at motia_core.limits.MAX_JSON_DEPTH for every language (400, not a
  runner's RecursionError or a 500). A body of FIND_BRACKETS_FROM bytes or more with no more
  opening brackets than the limit cannot nest deeper; few_brackets finds that out with memchr
  before the byte-by-byte count (docs/performance.md "Large bodies").
"""

from __future__ import annotations

import asyncio
import base64
import email.parser
import email.policy
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from motia_core.http.common import json_response
from motia_core.http.json_check import well_formed
from motia_core.limits import MAX_JSON_DEPTH, json_depth_exceeds, mib
from motia_core.runners.http_body import BodyEncoding

THREAD_THRESHOLD = 1024 * 1024  # bytes; smaller bodies parse faster than a thread hop costs
# From this size on, opening brackets are looked for with bytes.find (memchr, vectorised) before the
# nesting check counts them byte by byte: below it the two counts cost less than the find calls.
FIND_BRACKETS_FROM = 64 * 1024


UNPARSED: Any = object()  # ParsedBody.value of a JSON body only checked to be well formed
# From this size on a JSON body whose value is not needed is only checked (json_check): below it
# orjson's parse costs less than simdjson's setup.
VALIDATE_ONLY_FROM = 64 * 1024


class BadBody:
    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedBody:
    encoding: BodyEncoding
    # JSON / IN_PAYLOAD: the parsed value (JSON parsed only checked for a big body whose value
    # nobody needs: UNPARSED); TEXT / BINARY: None (see validation_value)
    value: Any
    body_json: bytes  # IN_PAYLOAD: the JSON of value, for payload_json; b"" otherwise
    raw: bytes

    def validation_value(self) -> Any:
        """What bodySchema is checked against. Text and binary bodies are decoded only when a step
        has a schema; a binary one is checked as the text older versions gave the step."""
        if self.encoding is BodyEncoding.TEXT or self.encoding is BodyEncoding.BINARY:
            return self.raw.decode("utf-8", errors="replace")
        if self.value is UNPARSED:  # checked well formed: orjson accepts it
            return orjson.loads(self.raw)
        return self.value


# Media types that are text although not text/*: their steps get a string, as before.
_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-ndjson",
        "application/graphql",
        "application/yaml",
        "application/x-yaml",
        "application/sql",
    }
)
_LOOKS_LIKE_JSON = re.compile(rb"[ \t\r\n]*[\[{]")  # match() stops at the first non-space byte


def body_encoding(content_type: str, raw: bytes) -> BodyEncoding | None:
    """How a body of this media type reaches a step; None: a form, parsed here."""
    if content_type == "application/json" or content_type.endswith("+json"):
        return BodyEncoding.JSON
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    if content_type.startswith("text/") or content_type.endswith("+xml") or content_type in _TEXT_TYPES:
        return BodyEncoding.TEXT
    if content_type == "":  # no Content-Type: JSON if it looks like it, text if it is UTF-8
        if _LOOKS_LIKE_JSON.match(raw):
            return BodyEncoding.JSON
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return BodyEncoding.BINARY
        return BodyEncoding.TEXT
    return BodyEncoding.BINARY


Respond = Callable[[int, object], web.Response]


def too_large(limit: int, size: int | None, respond: Respond = json_response) -> web.Response:
    """The 413 for a body over --max-body; closes the connection (the rest of the body is unread)."""
    actual = f"{size} bytes (Content-Length)" if size is not None else f"more than {limit} bytes"
    response = respond(
        413,
        {
            "error": "Payload too large",
            "message": f"the request body is {actual}; the limit is {limit} bytes ({mib(limit)}), "
            "set with motia-core serve --max-body",
        },
    )
    response.force_close()
    return response


async def read_body(request: web.BaseRequest, limit: int, respond: Respond = json_response) -> bytes | web.Response:
    """The whole body, or a 413 response (made by ``respond``) when it is over ``limit`` bytes."""
    if not request.body_exists:
        return b""
    declared = request.content_length
    if declared is not None and declared > limit:
        return too_large(limit, declared, respond)
    # Chunks are kept and joined once: growing a bytearray re-copies it as it grows and then copies
    # it again into bytes (about 1.7 ms of CPU for 1 MB against 0.05 ms for the join, docs/performance.md
    # "Large bodies"); a body that arrived as one chunk is not copied at all.
    chunks: list[bytes] = []
    size = 0  # a chunked body declares no length: count it as it arrives
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return too_large(limit, None, respond)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def parse_body_async(
    content_type: str, raw: bytes, content_type_header: str = "", *, value_needed: bool = True
) -> ParsedBody | BadBody:
    """parse_body, in a worker thread when the body is big enough to stall the event loop."""
    if len(raw) > THREAD_THRESHOLD:
        return await asyncio.to_thread(parse_body, content_type, raw, content_type_header, value_needed=value_needed)
    return parse_body(content_type, raw, content_type_header, value_needed=value_needed)


def parse_body(
    content_type: str, raw: bytes, content_type_header: str = "", *, value_needed: bool = True
) -> ParsedBody | BadBody:
    """The body as Motia's body parsers would see it, and how the runner gets it.

    ``content_type`` is the media type, "" when the request has no Content-Type header;
    ``content_type_header`` is the full header (with parameters): multipart needs its boundary.
    ``value_needed=False`` (no bodySchema to check): a big JSON body is only checked to be well
    formed, its ``value`` is UNPARSED (validation_value still parses it).
    """
    encoding = body_encoding(content_type, raw)
    if not raw or (encoding is not BodyEncoding.BINARY and raw.isspace()):
        return ParsedBody(BodyEncoding.IN_PAYLOAD, {}, b"{}", raw)  # Motia: an empty body is {}
    if encoding is BodyEncoding.JSON:
        if (len(raw) < FIND_BRACKETS_FROM or not few_brackets(raw, MAX_JSON_DEPTH)) and json_depth_exceeds(raw):
            return BadBody(f"JSON nested deeper than {MAX_JSON_DEPTH} levels; the limit is {MAX_JSON_DEPTH}")
        if not value_needed and len(raw) >= VALIDATE_ONLY_FROM and well_formed(raw):
            return ParsedBody(encoding, UNPARSED, b"", raw)
        try:
            return ParsedBody(encoding, orjson.loads(raw), b"", raw)
        except orjson.JSONDecodeError as exc:
            return BadBody(f"malformed JSON: {exc}")
    if encoding is not None:
        return ParsedBody(encoding, None, b"", raw)
    if content_type == "application/x-www-form-urlencoded":
        form: dict[str, Any] = {}
        for key, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
            add_value(form, key, value)
        return ParsedBody(BodyEncoding.IN_PAYLOAD, form, orjson.dumps(form), raw)
    parsed = parse_multipart(content_type_header, raw)
    if isinstance(parsed, BadBody):
        return parsed
    return ParsedBody(BodyEncoding.IN_PAYLOAD, parsed, orjson.dumps(parsed), raw)


def few_brackets(raw: bytes, limit: int) -> bool:
    """True when ``raw`` holds at most ``limit`` opening brackets ([ or {, in strings or not), so it
    cannot nest deeper than ``limit``. Stops at the (limit + 1)th: a big body with few brackets
    (a long string, a large text field) costs a few memchr passes, ~0.04 ms a MB against ~1 ms for
    the two bytes.count passes of json_depth_exceeds; a body with more falls through to that check."""
    found = 0
    for bracket in (b"[", b"{"):
        at = raw.find(bracket)
        while at >= 0:
            found += 1
            if found > limit:
                return False
            at = raw.find(bracket, at + 1)
    return True


def parse_multipart(content_type_header: str, raw: bytes) -> dict[str, Any] | BadBody:
    """multipart/form-data -> {field: value}: a text field is its string (repeated names become a
    list, as with urlencoded forms); a file field is {filename, contentType, size, text} when its
    content is UTF-8, else {filename, contentType, size, base64}. (Motia 0.x's body parsers leave
    multipart unparsed, so body was {}; the fields are more useful and rawBody still has the bytes.)
    """
    if "boundary=" not in content_type_header:
        return BadBody("multipart/form-data without a boundary parameter in Content-Type")
    head = f"Content-Type: {content_type_header}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return BadBody("malformed multipart/form-data body")
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue  # a part without a field name is not a form field
        content = part.get_payload(decode=True)
        data = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            add_value(form, name, data.decode(part.get_content_charset() or "utf-8", errors="replace"))
            continue
        file: dict[str, Any] = {"filename": filename, "contentType": part.get_content_type(), "size": len(data)}
        try:
            file["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            file["base64"] = base64.b64encode(data).decode("ascii")
        add_value(form, name, file)
    return form


def add_value(target: dict[str, Any], key: str, value: Any) -> None:
    old = target.get(key)
    if old is None:
        target[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        target[key] = [old, value]
