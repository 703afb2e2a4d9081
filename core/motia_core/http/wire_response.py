"""The common API response written to the connection in one piece, its head serialised here.

aiohttp's `prepare` + `write_eof` of a small response costs ~14 µs in a loop (docs/performance.md,
"Core per request, fourth pass"): a chain of coroutines, header defaults looked up in a CIMultiDict
one by one, then serialised. For the response most API requests get (a runner-encoded body, no
header of the handler's, HTTP/1.1 keep-alive, no cookies, compression or chunking, not HEAD), the
head is always the same bytes but for the status, the trace id, the content type, the length and
the Date: `WireResponse` writes exactly what aiohttp would (same names, values and order), from
bytes built once, through the request's StreamWriter's public `write` / `drain` / `write_eof`, so
the writer's counts, a connection lost mid-write (ClientConnectionResetError, a ConnectionError
aiohttp's server handles) and back-pressure behave as before.

Anything else goes through aiohttp unchanged: the headers exist only as pieces until something
reads `headers` (a CORS policy narrowing them, a hook, a test); then they become the CIMultiDict
the merging path in response.py builds, and aiohttp's own `prepare` serialises them.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from multidict import CIMultiDict

from motia_core.http.common import CORS_HEADERS, TRACE_HEADER

# Above this a body goes through aiohttp, which on Python >= 3.12.9 hands head and body to the
# transport's writelines instead of joining them (a copy of the body): the saving here is per
# response, not per byte, so a large body gains nothing from it.
MAX_WIRE_BODY = 16 * 1024

_CORS = CIMultiDict(CORS_HEADERS)
_CORS_LINES = b"".join(b"%s: %s\r\n" % (name.encode(), value.encode()) for name, value in CORS_HEADERS.items())
_TRACE_LINE = TRACE_HEADER.encode() + b": "
_SERVER_LINE = b"Server: " + SERVER_SOFTWARE.encode() + b"\r\n\r\n"
# (status, reason) -> the status line and the CORS lines, built on first use
_status_lines: dict[tuple[int, str], bytes] = {}
_NO_BODY = frozenset((204, 304, *range(100, 200)))  # statuses aiohttp sends without a body
_NO_BODY_METHODS = frozenset(("HEAD", "CONNECT"))  # HEAD: never a body; CONNECT 2xx: none either
_date_text = ""  # rfc822_formatted_time() caches its string per second: compared by identity
_date_tail = b""


def _date_and_server() -> bytes:
    global _date_text, _date_tail
    now = rfc822_formatted_time()
    if now is not _date_text:
        _date_text = now
        _date_tail = b"Date: " + now.encode() + b"\r\n" + _SERVER_LINE
    return _date_tail


class WireResponse(web.Response):
    """A runner-encoded body with Motia's default headers: the CORS headers, the trace id and
    `content_type`, in that order (response.py's `_encoded` without handler headers).

    web.Response.__init__ is not called: it would build and copy the CIMultiDict this class exists
    to avoid. What it sets is set here (status and reason through aiohttp's own `_set_status`).
    """

    def __init__(self, status: int, body: bytes, trace_id: str, content_type: str) -> None:
        self._state = {}
        self._set_status(status, None)
        self._body = self._wire_body = body
        self._zlib_executor_size = MAX_SYNC_CHUNK_SIZE  # web.Response's default
        self._zlib_executor = None
        self._wire_trace = trace_id
        self._wire_type = content_type
        self._built: CIMultiDict[str] | None = None
        self._wire_ready = False  # prepare() took the wire path: write_eof() must too (no head was queued)
        self.wire_sent = False  # True once write_eof wrote the head itself (not aiohttp's path)

    @property  # type: ignore[override]  # aiohttp reads and writes the attribute; a property keeps that
    def _headers(self) -> CIMultiDict[str]:
        built = self._built
        if built is None:  # someone looks at or changes the headers: aiohttp's path from now on
            built = self._built = _CORS.copy()
            built.add(TRACE_HEADER, self._wire_trace)
            built.add("Content-Type", self._wire_type)
        return built

    @_headers.setter
    def _headers(self, value: CIMultiDict[str]) -> None:
        self._built = value

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self._built is not None or self._payload_writer is not None or self._eof_sent or not _plain(self, request):
            return await super().prepare(request)
        # the state aiohttp's prepare leaves: write_eof below and the server's keep-alive read it
        self._req = request
        self._keep_alive = True
        self._must_be_empty_body = False
        self._wire_ready = True
        writer = self._payload_writer = request.writer
        return writer

    async def write_eof(self, data: bytes = b"") -> None:
        writer = self._payload_writer
        # headers read after prepare() do not matter here: aiohttp too serialises them in prepare()
        if not self._wire_ready or writer is None or self._eof_sent:
            await super().write_eof(data)
            return
        assert not data, "data is not supported by Response.write_eof"
        key = (self._status, self._reason)  # set_status() may have changed either since __init__
        head = _status_lines.get(key)
        if head is None:
            head = _status_lines[key] = b"HTTP/1.1 %d %s\r\n%s" % (key[0], key[1].encode(), _CORS_LINES)
        body = self._wire_body
        await writer.write(
            b"".join(
                (
                    head,
                    _TRACE_LINE,
                    self._wire_trace.encode(),
                    b"\r\nContent-Type: ",
                    self._wire_type.encode(),
                    b"\r\nContent-Length: %d\r\n" % len(body),
                    _date_and_server(),
                    body,
                )
            )
        )
        await writer.drain()  # aiohttp's write_eof waits here while the transport is paused
        await writer.write_eof()
        self._eof_sent = self.wire_sent = True
        self._req = None
        self._body_length = writer.output_size
        self._payload_writer = None


def _plain(response: WireResponse, request: web.BaseRequest) -> bool:
    """True when aiohttp would send exactly the head write_eof builds: HTTP/1.1 keep-alive, a status
    with a body, not HEAD, no cookies / compression / chunking, no on_response_prepare hook."""
    if (
        request.version != HttpVersion11
        or not request.keep_alive
        or request.method in _NO_BODY_METHODS
        or response._keep_alive is not None  # force_close() was called
        or response._status in _NO_BODY
        or response._cookies
        or response._compression
        or response._chunked
        or response._body is not response._wire_body  # the body setter was used
        or len(response._wire_body) > MAX_WIRE_BODY
        or (type(request) is not web.Request and not isinstance(request, web.Request))
    ):
        return False
    for app in request.match_info.apps:  # aiohttp's prepare sends each app's signal: only through its path
        if app.on_response_prepare:
            return False
    return True
