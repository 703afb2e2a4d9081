"""API bodies as bytes end to end (issue 15 item 3; docs/protocol.md "Bodies as bytes").

A real core serves tests/fixtures/bin_echo, where one echo step per language (TypeScript,
JavaScript, Python, Ruby) answers with the request body in the kind it received it: a binary body
(application/octet-stream, image/*, application/protobuf) must reach the handler as Buffer / bytes /
binary String and come back byte for byte; JSON, text and forms keep Motia's request shape.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from aiohttp import web

from motia_core.http.body import ParsedBody, body_encoding, parse_body
from motia_core.http.response import encoded_response
from motia_core.logs import Level, Logger
from motia_core.runners.http_body import BodyEncoding, BodyKind, HttpRequestBody, HttpResult
from motia_core.steps import Step
from tests.conftest import CoreProcess, copy_fixture

LANGUAGES = ("ts", "js", "py", "rb")
MAX_BODY = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("bin_echo", tmp_path_factory.mktemp("bin"))
    process = CoreProcess(project, ["--max-body", str(MAX_BODY)])
    process.wait_ready(60)
    yield process
    process.stop()


def post(core: CoreProcess, path: str, body: bytes, content_type: str | None) -> tuple[int, bytes, dict[str, str]]:
    """http.client, not urllib: urllib adds a form Content-Type to a POST that has none."""
    headers = {"Content-Length": str(len(body))}
    if content_type is not None:
        headers["Content-Type"] = content_type
    conn = http.client.HTTPConnection("127.0.0.1", core.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def _samples() -> dict[str, bytes]:
    rng = random.Random(1515)
    return {
        "invalid-utf8": b"\xff\xfe\xfd\x80\xc0\xc1" + bytes(rng.randrange(256) for _ in range(4096)),
        "nul": b"\x00" * 17 + b"\x00abc\x00",
        "json-looking": b'{"not": "json" \xff',  # octet-stream is never parsed, even when it looks like JSON
        "1mb": rng.randbytes(1024 * 1024),
    }


@pytest.mark.timeout(180)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_random_bytes_round_trip_intact(core: CoreProcess, lang: str) -> None:
    for name, data in _samples().items():
        for ctype in ("application/octet-stream", "image/png", "application/protobuf"):
            status, body, headers = post(core, f"/{lang}/echo", data, ctype)
            assert status == 200, (name, ctype, body[:300])
            assert (headers["x-kind"], headers["x-raw-kind"]) == ("bytes", "bytes"), (name, ctype)
            assert body == data, f"{lang}: {name} as {ctype} came back altered ({len(body)} of {len(data)} bytes)"
            assert headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_content_type_the_handler_sets_is_kept(core: CoreProcess, lang: str) -> None:
    data = bytes(range(256))
    status, body, headers = post(core, f"/{lang}/echo?ctype=image/png", data, "application/octet-stream")
    assert (status, body, headers["Content-Type"]) == (200, data, "image/png")


@pytest.mark.parametrize("lang", ("ts", "py", "rb"))
def test_other_byte_types_are_sent_as_bytes(core: CoreProcess, lang: str) -> None:
    """Uint8Array (not a Buffer), bytearray, and a Ruby String not valid in its encoding."""
    conn = http.client.HTTPConnection("127.0.0.1", core.port, timeout=30)
    try:
        conn.request("GET", f"/{lang}/bytes")
        resp = conn.getresponse()
        assert (resp.status, resp.read(), resp.getheader("Content-Type")) == (
            200,
            bytes(range(256)),
            "application/octet-stream",
        )
    finally:
        conn.close()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_json_body_is_still_parsed_with_its_raw_text(core: CoreProcess, lang: str) -> None:
    raw = '{"a": [1, 2, {"b": "é\\u0000"}], "n": null}'.encode()
    for ctype in ("application/json", "application/vnd.api+json", None):
        status, body, headers = post(core, f"/{lang}/echo", raw, ctype)
        assert status == 200, body
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"kind": "json", "body": json.loads(raw), "rawBody": raw.decode()}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_text_body_is_text(core: CoreProcess, lang: str) -> None:
    raw = "héllo\nwörld".encode()
    status, body, headers = post(core, f"/{lang}/echo", raw, "text/plain; charset=utf-8")
    assert (status, body, headers["x-kind"], headers["x-raw-kind"]) == (200, raw, "text", "text")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    # invalid UTF-8 in a text body is replaced, as a text body parser does (Motia's rawBody is a string)
    status, body, _ = post(core, f"/{lang}/echo", b"ab\xffcd", "text/plain")
    assert (status, body) == (200, "ab\ufffdcd".encode())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_forms_and_empty_bodies_keep_motias_shape(core: CoreProcess, lang: str) -> None:
    status, body, _ = post(core, f"/{lang}/echo", b"a=1&b=x%20y&a=2", "application/x-www-form-urlencoded")
    assert status == 200
    assert json.loads(body) == {"kind": "json", "body": {"a": ["1", "2"], "b": "x y"}, "rawBody": "a=1&b=x%20y&a=2"}
    status, body, _ = post(core, f"/{lang}/echo", b"", "application/json")
    assert (status, json.loads(body)) == (200, {"kind": "json", "body": {}, "rawBody": ""})


def test_body_limits_still_hold(core: CoreProcess) -> None:
    status, body, _ = post(core, "/py/echo", os.urandom(MAX_BODY + 1), "application/octet-stream")
    assert status == 413, body[:200]
    assert b"--max-body" in body
    status, body, _ = post(core, "/ts/echo", b'{"a":' * 200 + b"1" + b"}" * 200, "application/json")
    assert status == 400 and b"nested deeper" in body
    status, body, _ = post(core, "/rb/echo", b'{"a": ', "application/json")
    assert status == 400 and b"malformed JSON" in body


# -- the core's side, without a runner ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ctype", "raw", "expected"),
    [
        ("application/json", b"{}", BodyEncoding.JSON),
        ("application/problem+json", b"{}", BodyEncoding.JSON),
        ("text/csv", b"a,b", BodyEncoding.TEXT),
        ("application/xml", b"<a/>", BodyEncoding.TEXT),
        ("application/octet-stream", b"{}", BodyEncoding.BINARY),
        ("image/png", b"\x89PNG", BodyEncoding.BINARY),
        ("application/protobuf", b"\x08\x01", BodyEncoding.BINARY),
        ("", b" \n[1]", BodyEncoding.JSON),
        ("", b"plain words", BodyEncoding.TEXT),
        ("", b"\xff\x00", BodyEncoding.BINARY),
        ("application/x-www-form-urlencoded", b"a=1", None),
    ],
)
def test_each_content_type_gets_one_encoding(ctype: str, raw: bytes, expected: BodyEncoding | None) -> None:
    assert body_encoding(ctype, raw) is expected


def _old_payload(body: Any, raw: bytes) -> dict[str, Any]:
    """What the first protocol sent: body as parsed, rawBody as text with invalid UTF-8 replaced."""
    text = raw.decode(errors="replace")
    return {"body": body, "headers": {"h": "1"}, "pathParams": {}, "queryParams": {}, "rawBody": text}


@pytest.mark.parametrize(
    ("ctype", "raw", "body"),
    [
        ("application/json", b'{"a": [1, "\\u00e9"]}', {"a": [1, "é"]}),
        ("text/plain", b"t\xffext", "t\ufffdext"),
        ("application/octet-stream", b"\x00\xff", "\x00\ufffd"),
        ("application/x-www-form-urlencoded", b"a=1", {"a": "1"}),
        ("application/json", b"", {}),
    ],
)
def test_a_runner_without_the_capability_gets_the_old_payload(ctype: str, raw: bytes, body: Any) -> None:
    parsed = parse_body(ctype, raw, ctype)
    assert isinstance(parsed, ParsedBody)
    common = b'"headers":{"h":"1"},"pathParams":{},"queryParams":{}}'
    in_payload = parsed.encoding is BodyEncoding.IN_PAYLOAD
    payload = (b'{"body":' + parsed.body_json + b"," if in_payload else b"{") + common
    legacy = HttpRequestBody(raw, ctype, parsed.encoding).legacy_payload(payload)
    assert orjson.loads(legacy) == _old_payload(body, raw)


def _send(body: bytes, kind: BodyKind, status: int = 200, headers: Any = None) -> tuple[int, bytes, Any]:
    """encoded_response on a result as a runner with the capability sends it."""
    step = cast(Step, SimpleNamespace(name="R"))  # encoded_response reads only the step's name
    headers_json = b"" if headers is None else orjson.dumps(headers)
    result = HttpResult(status, headers_json, body, kind)
    resp = encoded_response(step, result, "t-1", Logger("json", Level.ERROR, stream=io.StringIO()))
    assert isinstance(resp, web.Response)
    return resp.status, resp.body if isinstance(resp.body, bytes) else b"", resp.headers


def test_an_encoded_body_goes_out_as_it_came() -> None:
    data = bytes(range(256)) * 3
    assert _send(data, BodyKind.BINARY)[1] == data
    status, body, headers = _send(b"\xe2\x82\xac", BodyKind.TEXT, 201, {"X-N": 7, "Set-Cookie": ["a=1", "b=2"]})
    assert (status, body, headers["Content-Type"]) == (201, "€".encode(), "text/plain; charset=utf-8")
    assert headers.getall("Set-Cookie") == ["a=1", "b=2"] and headers["X-N"] == "7"
    status, body, headers = _send(b'{"a":1}', BodyKind.JSON, 0, {"content-type": "application/hal+json"})
    assert (status, body, headers["Content-Type"]) == (200, b'{"a":1}', "application/hal+json")  # 0: no status set
    status, body, headers = _send(b"", BodyKind.NONE, 204)
    assert (status, body, headers["x-motia-trace-id"]) == (204, b"", "t-1")
    # a JSON object shaped like Node's Buffer is bytes, as in Motia (a Python or Ruby handler may build one)
    status, body, headers = _send(b'{"type":"Buffer","data":[104,105]}', BodyKind.JSON)
    assert (status, body, headers["Content-Type"]) == (200, b"hi", "application/octet-stream")


def test_encoded_results_are_checked_like_json_ones() -> None:
    cases: list[tuple[bytes, BodyKind, int, Any, str]] = [
        (b'{"id":18446744073709551617}', BodyKind.JSON, 200, None, "body.id: integer cannot be carried exactly"),
        # NaN reaches the body only through the Python runner's fallback for integers beyond 64 bits
        (b'{"x":[NaN],"n":18446744073709551617}', BodyKind.JSON, 200, None, "body.x[0]: NaN is not a JSON number"),
        (b"{}", BodyKind.JSON, 200, {"X-A": "a\r\nb"}, "headers.X-A: value contains a carriage return (CR)"),
        (b"{}", BodyKind.JSON, 200, ["X-A"], "headers: expected an object"),
        (b"{}", BodyKind.JSON, 700, None, "status: expected an integer HTTP status 100-599"),
        (b'{"type":"Buffer","data":[256]}', BodyKind.JSON, 200, None, "body.data[0]: a Buffer byte"),
        (b"x", cast(BodyKind, 9), 200, None, "body: unknown body kind 9 from the runner"),
    ]
    for body, kind, status_in, headers, expected in cases:
        status, out, _ = _send(body, kind, status_in, headers)
        message = orjson.loads(out)["message"]
        assert (status, message.startswith(f"R returned an invalid response: {expected}")) == (500, True), message
    # a 16-digit run inside a string is not a number: sent untouched
    assert _send(b'{"s":"12345678901234567890"}', BodyKind.JSON)[:2] == (200, b'{"s":"12345678901234567890"}')
