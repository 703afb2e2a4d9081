"""API bodies as bytes on the runner stream (proto HttpRequestBody / HttpResponse, docs/protocol.md).

A runner that announces ``HTTP_BODY_CAPABILITY`` in Hello gets an API request's body once, as bytes
(``StartInvocation.http_body``), and answers with the response body already encoded
(``Completed.http_response``), which the core writes to the client without decoding it. A runner
that does not announce it (an older build, a third-party runner written against the first protocol)
gets the payload it always got, ``{"body", "headers", "pathParams", "queryParams", "rawBody"}``: the
session rebuilds it here with ``legacy_payload``, so the HTTP layer builds one payload only.

No grpc here: the transport types (transport.py) and the HTTP layer both import this module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import orjson

HTTP_BODY_CAPABILITY = "http_body_bytes"


class BodyEncoding(enum.IntEnum):
    """How the runner turns ``raw`` into ``body`` / ``rawBody``; values match proto
    ``HttpRequestBody.Encoding``."""

    IN_PAYLOAD = 0  # body is in payload_json (form fields, {} for an empty body); rawBody is raw as text
    JSON = 1  # body = raw parsed as JSON (the core checked it parses); rawBody is raw as text
    TEXT = 2  # body = rawBody = raw as UTF-8 text
    BINARY = 3  # body = rawBody = raw as the language's bytes type


class BodyKind(enum.IntEnum):
    """What an encoded response body is; values match proto ``HttpResponse.BodyKind``."""

    NONE = 0
    JSON = 1
    TEXT = 2
    BINARY = 3


@dataclass(frozen=True, slots=True)
class HttpRequestBody:
    raw: bytes
    content_type: str  # the Content-Type header as received ("" = none)
    encoding: BodyEncoding

    def legacy_payload(self, payload: bytes) -> bytes:
        """The first protocol's API payload: ``payload`` (headers, pathParams, queryParams, and body
        when IN_PAYLOAD) plus ``body`` as JSON and ``rawBody`` as text. A binary body reaches such a
        runner as text with invalid UTF-8 replaced, as it always did."""
        text = self.raw.decode("utf-8", errors="replace")
        raw_body = orjson.dumps(text)
        if self.encoding is BodyEncoding.IN_PAYLOAD:
            return b"".join((payload[:-1], b',"rawBody":', raw_body, b"}"))
        body = self.raw if self.encoding is BodyEncoding.JSON else raw_body
        return b"".join((payload[:-1], b',"body":', body, b',"rawBody":', raw_body, b"}"))


@dataclass(frozen=True, slots=True)
class HttpResult:
    """A handler's response as the runner encoded it (proto ``HttpResponse``)."""

    status: int  # 0: the handler set none (200)
    headers_json: bytes  # the handler's headers object as JSON; b"" = none
    body: bytes
    body_kind: int  # a BodyKind value; kept an int so an unknown kind can be reported, not crash
