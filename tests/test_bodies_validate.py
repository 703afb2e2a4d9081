"""Big JSON bodies checked, not built (http/json_check.py, docs/performance.md "Large bodies").

A JSON body of VALIDATE_ONLY_FROM bytes or more for a step without bodySchema is only checked to be
well formed (simdjson), since the runner builds its own value from the bytes. These tests hold what
that shortcut must keep: every verdict (and 400 message) is orjson's, as before; simdjson's "well
formed" is never given to a document orjson refuses; a step with bodySchema still gets its body
parsed and validated; and bodies round-trip intact through TypeScript and Python steps.
"""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Iterator

import orjson
import pytest

from motia_core.http import json_check
from motia_core.http.body import UNPARSED, VALIDATE_ONLY_FROM, BadBody, ParsedBody, parse_body
from tests.conftest import CoreProcess, copy_fixture

# Documents where JSON parsers are known to disagree: surrogates, non-finite and huge numbers,
# trailing commas and garbage, control characters, invalid UTF-8, byte order marks, NUL bytes.
EDGE_CASES = [
    b'{"a": "\\ud800"}',
    b'{"a": "\\udc00"}',
    b'{"a": "\\ud83d\\ude00"}',
    b"[NaN]",
    b"[Infinity]",
    b"[-Infinity]",
    b"[1e400]",
    b"[1e-400]",
    b"[18446744073709551616]",
    b"[123456789012345678901234567890]",
    b"[-9223372036854775809]",
    b"[1,]",
    b'{"a":1,}',
    b"[01]",
    b"[-]",
    b"[1.]",
    b"[.5]",
    b"[-0]",
    b"[1E+2]",
    b'"\x01"',
    b'"a\x7f"',
    b"[1] x",
    b"[1][2]",
    b"\xef\xbb\xbf[1]",
    b'"\xff"',
    b'"\xc0\x80"',
    b'"\xed\xa0\x80"',
    b'"\xf4\x90\x80\x80"',
    b'"\xef\xbf\xbf"',
    b"\x00",
    b"[1]\x00",
    b'"\\u0000"',
    b'"\\x"',
    b"'a'",
    b"{a:1}",
    b'{"a" 1}',
    b"[true,false,null]",
    b"[tru]",
    b'{"a":1,"a":2}',
    b"\t[1]\r\n",
    b"\x0c[1]",
    b"\xa0[1]",
    b"",
    b" ",
]


def padded(doc: bytes) -> bytes:
    """``doc`` inside a document big enough for the validate-only path (the pad is plain ASCII)."""
    return b'[{"pad": "' + b"p" * VALIDATE_ONLY_FROM + b'"}, ' + doc + b"]"


def orjson_accepts(raw: bytes) -> bool:
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return True


def mutations(seed: int, count: int) -> Iterator[bytes]:
    """A structured document with one random byte changed, dropped or inserted, or cut short."""
    rng = random.Random(seed)
    base = json.dumps(
        [{"id": i, "score": i / 7, "text": 'é [{"}]\\ 😀', "tags": [i, None, True]} for i in range(40)]
    ).encode()
    alphabet = b'{}[]",:\\0123456789.-+eE truefalsn\x00\x7f\xc3\xa9\xff'
    for _ in range(count):
        at = rng.randrange(len(base))
        kind = rng.randrange(4)
        if kind == 0:
            yield base[:at] + bytes([rng.choice(alphabet)]) + base[at + 1 :]
        elif kind == 1:
            yield base[:at] + base[at + 1 :]
        elif kind == 2:
            yield base[:at] + bytes([rng.choice(alphabet)]) + base[at:]
        else:
            yield base[:at]


def test_well_formed_is_never_said_of_what_orjson_refuses() -> None:
    docs = [*EDGE_CASES, *(padded(d) for d in EDGE_CASES), *mutations(15, 2000)]
    trusted = 0
    for doc in docs:
        if json_check.well_formed(doc):
            trusted += 1
            assert orjson_accepts(doc), doc[:200]
    assert trusted > 100  # the check answers for most valid documents, or it saves nothing


def test_a_big_body_gets_the_same_verdict_and_message_checked_or_parsed() -> None:
    for doc in [*EDGE_CASES, *mutations(16, 400)]:
        raw = padded(doc)
        parsed = parse_body("application/json", raw)
        checked = parse_body("application/json", raw, value_needed=False)
        if isinstance(parsed, BadBody):
            assert isinstance(checked, BadBody) and checked.reason == parsed.reason, raw[-200:]
        else:
            assert isinstance(checked, ParsedBody), raw[-200:]
            assert checked.validation_value() == parsed.value


def test_only_a_big_body_nobody_needs_the_value_of_is_left_unbuilt() -> None:
    big = b'{"data": "' + b"x" * VALIDATE_ONLY_FROM + b'"}'
    small = b'{"data": "x"}'
    unbuilt = parse_body("application/json", big, value_needed=False)
    assert isinstance(unbuilt, ParsedBody) and unbuilt.value is UNPARSED
    assert unbuilt.validation_value() == {"data": "x" * VALIDATE_ONLY_FROM}
    for raw, needed in ((big, True), (small, False), (small, True)):
        built = parse_body("application/json", raw, value_needed=needed)
        assert isinstance(built, ParsedBody) and built.value == orjson.loads(raw)


def test_a_parser_is_kept_only_for_bodies_up_to_a_megabyte() -> None:
    json_check.well_formed(b"[1]")
    kept = json_check._local.parser
    assert json_check.well_formed(b"[" + b"1," * json_check.KEEP_PARSER_UP_TO + b"1]")
    assert json_check._local.parser is kept  # the big one had a parser of its own, now freed
    assert json_check.well_formed(b"[2]") and json_check._local.parser is kept


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("bo_bodies", tmp_path_factory.mktemp("bo"))
    process = CoreProcess(project, ["--max-body", str(8 * 1024 * 1024)])
    process.wait_ready(60)
    yield process
    process.stop()


def post(core: CoreProcess, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", core.port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def numbers(count: int) -> list[int]:
    rng = random.Random(count)
    return [rng.randrange(-(2**53) + 1, 2**53) for _ in range(count)]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lang", ["ts", "py"])
def test_big_bodies_without_a_schema_round_trip_and_bad_ones_are_a_400(core: CoreProcess, lang: str) -> None:
    doc = {"items": numbers(60_000), "text": 'é [{"}]\\ 😀' * 2000, "nested": [[{"a": None}], True]}
    body = json.dumps(doc).encode()
    assert len(body) > 1024 * 1024
    status, answer = post(core, f"/echo/{lang}", body)
    assert status == 200, answer[:300]
    assert json.loads(answer) == doc
    for bad in (body[:-1], b"\xef\xbb\xbf" + body, body.replace(b'"text"', b"'text'", 1)):
        expected = parse_body("application/json", bad)  # orjson's verdict, as before the check
        assert isinstance(expected, BadBody)
        status, answer = post(core, f"/echo/{lang}", bad)
        assert status == 400, answer[:300]
        assert json.loads(answer)["message"] == expected.reason


@pytest.mark.timeout(120)
def test_an_integer_beyond_64_bits_in_a_big_body_is_still_served(core: CoreProcess) -> None:
    """simdjson refuses it, orjson accepts it: orjson's verdict stands, as before."""
    body = b'{"big": 123456789012345678901234567890, "pad": "' + b"p" * (2 * VALIDATE_ONLY_FROM) + b'"}'
    assert not json_check.well_formed(body) and orjson_accepts(body)
    status, answer = post(core, "/echo/py", body)
    assert status == 200, answer[:300]
    echoed = json.loads(answer)  # the Python runner's orjson reads the integer as a float, as before
    assert echoed["pad"] == "p" * (2 * VALIDATE_ONLY_FROM) and echoed["big"] == pytest.approx(1.2345678901e29)


@pytest.mark.timeout(120)
def test_a_step_with_a_body_schema_still_validates_a_big_body(core: CoreProcess) -> None:
    items = numbers(40_000)
    body = json.dumps({"items": items}).encode()
    assert len(body) > VALIDATE_ONLY_FROM
    status, answer = post(core, "/count/py", body)
    assert status == 200 and json.loads(answer) == {"count": len(items)}, answer[:300]
    bad = json.dumps({"items": [*items, "not a number"]}).encode()
    status, answer = post(core, "/count/py", bad)
    assert status == 400 and json.loads(answer)["error"] == "Request body failed validation", answer[:300]
    status, answer = post(core, "/count/py", bad[:-2])
    assert status == 400 and json.loads(answer)["message"].startswith("malformed JSON"), answer[:300]
