"""Core per request, fourth pass (docs/performance.md): the common API response's head is written by
http/wire_response.py in one piece. Over a real socket it must be byte-for-byte what aiohttp sends
for the same response (Date aside), and every case it does not cover must go through aiohttp."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError
from aiohttp.http_writer import StreamWriter
from aiohttp.test_utils import TestServer, make_mocked_request
from multidict import CIMultiDict

from motia_core.http.common import CORS_HEADERS, TRACE_HEADER
from motia_core.http.wire_response import MAX_WIRE_BODY, WireResponse
from tests.conftest import CoreProcess, copy_fixture

TRACE = "abcde-1765160000000"
_BODIES: dict[str, tuple[int, bytes, str]] = {  # variant -> status, body, content type
    "json": (200, b'{"ok":true}', "application/json"),
    "text": (201, "héllo".encode(), "text/plain; charset=utf-8"),
    "binary": (200, bytes(range(256)), "application/octet-stream"),
    "empty": (200, b"", "application/json"),
    "unknown-status": (599, b"{}", "application/json"),
    "big": (200, b"x" * (MAX_WIRE_BODY + 1), "application/octet-stream"),
}
_CHANGES: dict[str, Callable[[web.Response], None]] = {  # variant -> what a layer does to the response
    "cookie": lambda r: r.set_cookie("sid", "1"),
    "close": lambda r: r.force_close(),
    "reason": lambda r: r.set_status(200, "Fine"),
    "header": lambda r: r.headers.add("X-Extra", "1"),
    "body": lambda r: setattr(r, "body", b'{"other":1}'),
    "compressed": lambda r: r.enable_compression(),
}


def _response(variant: str, wire: bool) -> web.Response:
    status, body, ctype = _BODIES.get(variant, _BODIES["json"])
    if wire:
        response: web.Response = WireResponse(status, body, TRACE, ctype)
    else:  # what response.py built before: the CORS defaults, the trace id, the content type
        headers = CIMultiDict(CORS_HEADERS)
        headers.add(TRACE_HEADER, TRACE)
        headers.add("Content-Type", ctype)
        response = web.Response(status=status, body=body, headers=headers)
    change = _CHANGES.get(variant)
    if change is not None:
        change(response)
    return response


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, list[WireResponse]]]:
    sent: list[WireResponse] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        response = _response(request.match_info["variant"], request.match_info["side"] == "wire")
        if isinstance(response, WireResponse):
            sent.append(response)
        return response

    app = web.Application()
    app.router.add_route("*", "/{side}/{variant}", handle)
    async with TestServer(app) as srv:
        yield srv, sent


async def _read_response(reader: asyncio.StreamReader, head_only: bool = False) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
    if head_only or length is None:
        return head
    return head + await asyncio.wait_for(reader.readexactly(int(length.group(1))), 10)


async def _exchange(port: int, raw: bytes, count: int, head_only: bool = False) -> tuple[list[bytes], bool]:
    """`raw` written at once (pipelined when it holds several requests); the `count` responses, and
    whether the server then closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        responses = [_mask(await _read_response(reader, head_only)) for _ in range(count)]
        try:
            closed = await asyncio.wait_for(reader.read(1), 0.5) == b""
        except TimeoutError:
            closed = False
        return responses, closed
    finally:
        writer.close()


def _mask(response: bytes) -> bytes:
    return re.sub(rb"\r\nDate: [^\r]+\r\n", b"\r\nDate: -\r\n", response)


def _get(side: str, variant: str, method: str = "GET", version: str = "1.1", extra: str = "") -> bytes:
    return f"{method} /{side}/{variant} HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode()


Case = tuple[str, str, str, str, bool]  # variant, method, version, extra headers, head written by WireResponse
_CASES: list[Case] = [
    ("json", "GET", "1.1", "", True),
    ("text", "POST", "1.1", "", True),
    ("binary", "GET", "1.1", "", True),
    ("empty", "GET", "1.1", "", True),
    ("unknown-status", "GET", "1.1", "", True),
    ("json", "GET", "1.1", "Connection: close\r\n", False),
    ("json", "HEAD", "1.1", "", False),
    ("json", "GET", "1.0", "", False),
    ("json", "GET", "1.0", "Connection: keep-alive\r\n", False),
    ("big", "GET", "1.1", "", False),
    *((variant, "GET", "1.1", "", variant == "reason") for variant in _CHANGES),  # a new reason: still written here
]


@pytest.mark.parametrize(("variant", "method", "version", "extra", "wired"), _CASES)
async def test_each_response_is_byte_for_byte_aiohttps_and_only_the_plain_case_is_written_here(
    server: tuple[TestServer, list[WireResponse]], variant: str, method: str, version: str, extra: str, wired: bool
) -> None:
    srv, sent = server
    assert srv.port is not None
    head_only = method == "HEAD"
    expected, expected_closed = await _exchange(srv.port, _get("plain", variant, method, version, extra), 1, head_only)
    got, got_closed = await _exchange(srv.port, _get("wire", variant, method, version, extra), 1, head_only)
    assert got == expected
    assert got_closed == expected_closed
    assert [r.wire_sent for r in sent] == [wired]


async def test_keep_alive_and_pipelined_requests_on_one_connection_match_aiohttp(
    server: tuple[TestServer, list[WireResponse]],
) -> None:
    srv, sent = server
    assert srv.port is not None
    variants = ["json", "text", "big", "cookie", "binary", "json"]
    pipelined = b"".join(_get("wire", v) for v in variants)
    expected, expected_closed = await _exchange(srv.port, b"".join(_get("plain", v) for v in variants), len(variants))
    got, got_closed = await _exchange(srv.port, pipelined, len(variants))
    assert got == expected
    assert not got_closed and not expected_closed  # keep-alive: the connection outlives them all
    assert [r.wire_sent for r in sent] == [True, True, False, False, True, True]
    # one after another on the same connection, each after the previous answer
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    try:
        for variant in variants:
            writer.write(_get("wire", variant))
            assert _mask(await _read_response(reader)) == expected[variants.index(variant)]
    finally:
        writer.close()


def _mocked_request(closing: bool, written: list[bytes] | None = None) -> web.Request:
    """A request whose StreamWriter writes to a fake transport: into `written`, or, when `closing`,
    nowhere (a write is then a failure of the test)."""

    class Transport:
        def write(self, data: bytes) -> None:
            if written is None:
                raise AssertionError("nothing is written to a closing transport")
            written.append(bytes(data))

        def is_closing(self) -> bool:
            return closing

        def get_extra_info(self, _name: str, default: object = None) -> object:
            return default

    class Protocol:
        transport = Transport()
        _paused = False
        ssl_context = None
        peername = None
        sockname = None

    protocol = Protocol()
    writer = StreamWriter(protocol, asyncio.get_running_loop())  # type: ignore[arg-type]
    return make_mocked_request(
        "GET",
        "/x",
        headers={"Host": "x"},
        writer=writer,
        protocol=protocol,
        transport=protocol.transport,  # else a mock whose is_closing() is truthy
        app=web.Application(),
    )


@pytest.mark.parametrize("wire", [False, True])
async def test_a_connection_lost_before_the_write_raises_what_aiohttp_raises(wire: bool) -> None:
    # aiohttp's server treats a ConnectionError from prepare/write_eof as the client going away
    response = _response("json", wire)
    request = _mocked_request(closing=True)
    await response.prepare(request)
    with pytest.raises(ClientConnectionResetError):
        await response.write_eof()
    assert not response.prepared or response.keep_alive is not None


async def test_an_on_response_prepare_hook_sees_the_response_through_aiohttps_path() -> None:
    seen: list[str] = []

    async def hook(_: web.Request, response: web.StreamResponse) -> None:
        seen.append(response.headers[TRACE_HEADER])

    async def handle(_: web.Request) -> web.StreamResponse:
        return WireResponse(200, b"{}", TRACE, "application/json")

    app = web.Application()
    app.on_response_prepare.append(hook)
    app.router.add_get("/", handle)
    async with TestServer(app) as srv:
        assert srv.port is not None
        (got,), _ = await _exchange(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert seen == [TRACE]
    assert b"\r\nx-motia-trace-id: " + TRACE.encode() + b"\r\n" in got


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    proc = CoreProcess(copy_fixture("cp8_wire", tmp_path_factory.mktemp("cp8-wire")))
    proc.wait_ready()
    yield proc
    proc.stop()


def _check_head(response: bytes, status: str, length: int) -> None:
    """aiohttp's head for the response: its status line and header names in aiohttp's order."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 " + status.encode()
    names = [line.split(b":", 1)[0] for line in lines[1:]]
    assert names == [
        *(n.encode() for n in CORS_HEADERS),
        TRACE_HEADER.encode(),
        b"Content-Type",
        b"Content-Length",
        b"Date",
        b"Server",
    ]
    assert b"\r\nContent-Type: application/json\r\n" in head
    assert f"\r\nContent-Length: {length}\r\n".encode() in head
    assert len(body) == length


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("path", "status"), [("/py/wire", "201 Created"), ("/ts/wire", "200 OK")])
async def test_a_real_steps_responses_keep_the_head_and_the_connection(
    core: CoreProcess, path: str, status: str
) -> None:
    requests = b"".join(f"GET {path}?n={i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(3))
    responses, closed = await _exchange(core.port, requests, 3)
    assert not closed
    trace_ids = set()
    for i, response in enumerate(responses):
        body = f'{{"ok":true,"n":"{i}"}}'.encode()
        assert response.endswith(b"\r\n\r\n" + body)
        _check_head(response, status, len(body))
        trace_ids.add(re.search(rb"x-motia-trace-id: ([^\r]+)", response).group(1))  # type: ignore[union-attr]
    assert len(trace_ids) == 3  # each request its own trace
    # HTTP/1.0 and Connection: close still get aiohttp's answer and the connection is closed
    for request in (f"GET {path} HTTP/1.0\r\n\r\n", f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
        (response,), closed = await _exchange(core.port, request.encode(), 1)
        assert closed
        assert response.startswith(b"HTTP/1.")
        assert b'{"ok":true,"n":null}' in response


def test_the_core_writes_the_head_only_for_a_runner_encoded_body_without_handler_headers() -> None:
    from motia_core.http.response import encoded_response
    from motia_core.runners.http_body import BodyKind, HttpResult
    from motia_core.steps import Step

    class Logger:
        def error(self, *_: object, **__: object) -> None:
            raise AssertionError("no error expected")

    step = Step.__new__(Step)
    plain = encoded_response(step, HttpResult(0, b"", b'{"ok":true}', BodyKind.JSON), TRACE, Logger())  # type: ignore[arg-type]
    assert isinstance(plain, WireResponse)
    assert plain.status == 200 and plain.content_type == "application/json"
    own = encoded_response(step, HttpResult(0, b'{"x-a":"1"}', b"hi", BodyKind.TEXT), TRACE, Logger())  # type: ignore[arg-type]
    assert type(own) is web.Response and own.headers["x-a"] == "1"
    empty = encoded_response(step, HttpResult(204, b"", b"", BodyKind.NONE), TRACE, Logger())  # type: ignore[arg-type]
    assert type(empty) is web.Response and empty.headers[TRACE_HEADER] == TRACE


async def test_headers_read_between_prepare_and_write_eof_still_send_the_whole_response() -> None:
    written: list[bytes] = []
    request = _mocked_request(closing=False, written=written)
    response = WireResponse(200, b'{"ok":true}', TRACE, "application/json")
    await response.prepare(request)
    assert response.headers[TRACE_HEADER] == TRACE  # a layer looks at the prepared response
    await response.write_eof()
    sent = b"".join(written)
    assert response.wire_sent and response.body_length == len(sent)
    assert sent.startswith(b"HTTP/1.1 200 OK\r\n") and sent.endswith(b'\r\n\r\n{"ok":true}')
    assert b"\r\nContent-Length: 11\r\n" in sent
