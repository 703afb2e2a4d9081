"""Large API bodies after the per-MB cuts of issue 15 item 3 (docs/performance.md "Large bodies").

The core reads a body as a list of chunks joined once, and looks for opening brackets with
bytes.find before its byte-by-byte nesting check on bodies of 64 KiB and more. These tests hold
the contract those shortcuts must keep: a multi-MB JSON body comes back intact through a
TypeScript and a Python step (sent with a Content-Length or chunked in many pieces), a body over
--max-body is still refused with 413, and JSON nested deeper than the limit is still a 400
whatever the size of the body around it.
"""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Iterator

import pytest

from motia_core.http.body import FIND_BRACKETS_FROM, BadBody, ParsedBody, few_brackets, parse_body
from motia_core.limits import MAX_JSON_DEPTH
from tests.conftest import CoreProcess, copy_fixture

MAX_BODY = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("k2_bodies", tmp_path_factory.mktemp("echo"))  # /echo/ts and /echo/py return req.body
    process = CoreProcess(project, ["--max-body", str(MAX_BODY)])
    process.wait_ready(60)
    yield process
    process.stop()


def post(core: CoreProcess, path: str, body: bytes, *, chunk: int = 0) -> tuple[int, bytes]:
    """POST a JSON body; chunk > 0 sends it with Transfer-Encoding: chunked in pieces of that size."""
    conn = http.client.HTTPConnection("127.0.0.1", core.port, timeout=120)
    try:
        headers = {"Content-Type": "application/json"}
        if chunk:
            pieces = (body[i : i + chunk] for i in range(0, len(body), chunk))
            conn.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        else:
            conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def big_document(size: int) -> bytes:
    """A JSON document of about `size` bytes that is not one long string: records with numbers
    (all within 2^53), brackets and quotes inside strings, non-ASCII text and a nested list."""
    rng = random.Random(15)
    records = []
    total = 0
    while total < size:
        record = {
            "id": rng.randrange(10**12),
            "score": rng.randrange(-(10**6), 10**6) / 64,
            "text": "".join(rng.choices('abc [{"}]\\ é€😀', k=rng.randrange(10, 400))),
            "tags": [[rng.randrange(100)] for _ in range(rng.randrange(3))],
        }
        total += len(json.dumps(record))
        records.append(record)
    return json.dumps({"records": records, "note": "x" * 1000}).encode()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("lang", ["ts", "py"])
def test_a_4mb_json_body_round_trips_intact(core: CoreProcess, lang: str) -> None:
    body = big_document(4 * 1024 * 1024)
    expected = json.loads(body)
    status, answer = post(core, f"/echo/{lang}", body)
    assert status == 200, answer[:300]
    assert json.loads(answer) == expected
    status, answer = post(core, f"/echo/{lang}", body, chunk=50_000)  # ~84 chunks, joined once by the core
    assert status == 200, answer[:300]
    assert json.loads(answer) == expected


@pytest.mark.timeout(120)
def test_a_body_over_the_limit_is_still_refused(core: CoreProcess) -> None:
    over = b'{"data":"' + b"x" * MAX_BODY + b'"}'
    status, answer = post(core, "/echo/py", over)  # declared: refused before it is read
    assert status == 413 and b"--max-body" in answer, answer[:300]
    status, answer = post(core, "/echo/ts", over, chunk=256 * 1024)  # chunked: refused once it passes the limit
    assert status == 413 and b"--max-body" in answer, answer[:300]
    status, answer = post(core, "/echo/py", b'{"data":"' + b"x" * (MAX_BODY - 12) + b'"}')  # at the limit: served
    assert status == 200 and len(answer) == MAX_BODY - 1, answer[:300]


@pytest.mark.timeout(120)
def test_deep_json_in_a_big_body_is_still_a_400(core: CoreProcess) -> None:
    pad = '"' + "y" * (2 * FIND_BRACKETS_FROM) + '"'
    deep = ("[" * (MAX_JSON_DEPTH + 1) + pad + "]" * (MAX_JSON_DEPTH + 1)).encode()
    for lang in ("ts", "py"):
        status, answer = post(core, f"/echo/{lang}", deep)
        assert status == 400 and f"deeper than {MAX_JSON_DEPTH}".encode() in answer, answer[:300]
    at_limit = ("[" * MAX_JSON_DEPTH + pad + "]" * MAX_JSON_DEPTH).encode()
    status, answer = post(core, "/echo/py", at_limit)
    assert status == 200 and json.loads(answer) == json.loads(at_limit)
    status, answer = post(core, "/echo/ts", b'{"data": "' + b"z" * (2 * FIND_BRACKETS_FROM) + b'"')
    assert status == 400 and b"malformed JSON" in answer, answer[:300]


def test_few_brackets_counts_like_bytes_count() -> None:
    rng = random.Random(7)
    for _ in range(300):
        raw = bytes(rng.choices(b'[]{}"x\\ ', k=rng.randrange(0, 400)))
        opening = raw.count(b"[") + raw.count(b"{")
        for limit in (0, 1, 5, 100):
            assert few_brackets(raw, limit) == (opening <= limit), (limit, raw)


def test_big_bodies_get_the_same_verdict_as_small_ones() -> None:
    """Every shape of nesting, padded past FIND_BRACKETS_FROM so the find path decides first."""
    pad = b' "' + b"p" * FIND_BRACKETS_FROM + b'"'
    cases = {
        b"[" * (MAX_JSON_DEPTH + 1) + pad + b"]" * (MAX_JSON_DEPTH + 1): False,  # one bracket too deep
        b"[" * MAX_JSON_DEPTH + pad + b"]" * MAX_JSON_DEPTH: True,
        b"[" + b",".join([b"[]"] * 5000) + b"," + pad + b"]": True,  # many brackets, depth 2
        b'["' + b"[" * 500 + b'",' + pad + b"]": True,  # brackets inside a string do not nest
    }
    for raw, ok in cases.items():
        assert len(raw) > FIND_BRACKETS_FROM
        parsed = parse_body("application/json", raw)
        assert isinstance(parsed, ParsedBody) is ok, raw[:120]
        if not ok:
            assert isinstance(parsed, BadBody) and f"deeper than {MAX_JSON_DEPTH}" in parsed.reason
