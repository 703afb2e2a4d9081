"""The API path's fast paths (issue 15 item 1, docs/performance.md#api-path) answer exactly as the
general paths they skip: same trace id format, same headers in the same order, same refusals."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from motia_core.http.api import _headers
from motia_core.http.response import _BadResult, _encoded
from motia_core.runners.http_body import BodyKind, HttpResult
from motia_core.tracing import _ALPHABET, MAX_SPANS, NO_DROPS, SpanStatus, TraceStore, new_trace_id

STEP: Any = None  # _encoded reads the step only for a Node Buffer body


def test_trace_id_keeps_motias_format() -> None:
    letters = re.escape(_ALPHABET)
    seen_first = set()
    for _ in range(2000):
        before = str(time.time_ns() // 1_000_000)[6:]
        trace_id = new_trace_id()
        after = str(time.time_ns() // 1_000_000)[6:]
        assert re.fullmatch(f"[{letters}]{{5}}-[0-9]+", trace_id), trace_id
        assert before <= trace_id[6:] <= after or after < before  # the time part, unless it wrapped
        seen_first.add(trace_id[0])
    assert len(seen_first) == 32  # every letter of the alphabet turns up in each position's draw


def test_request_headers_fast_path_matches_the_joining_path() -> None:
    plain = CIMultiDictProxy(CIMultiDict([("Host", "a"), ("X-One", "1"), ("Accept", "*/*")]))
    assert _headers(plain) == {"host": "a", "x-one": "1", "accept": "*/*"}
    repeated = CIMultiDictProxy(CIMultiDict([("Host", "a"), ("X-Tag", "1"), ("x-tag", "2"), ("X-TAG", "3")]))
    assert _headers(repeated) == {"host": "a", "x-tag": "1, 2, 3"}


def _items(result: HttpResult) -> list[tuple[str, str]]:
    return list(_encoded(STEP, result, "ABCDE-1234567").headers.items())


def test_encoded_response_without_handler_headers_matches_the_merging_path() -> None:
    for kind in (BodyKind.JSON, BodyKind.TEXT, BodyKind.BINARY, BodyKind.NONE):
        fast = HttpResult(status=201, headers_json=b"", body=b'{"ok":true}', body_kind=int(kind))
        merged = HttpResult(status=201, headers_json=b"{}", body=b'{"ok":true}', body_kind=int(kind))
        assert _items(fast) == _items(merged), kind
    items = _items(HttpResult(status=200, headers_json=b"", body=b"[1]", body_kind=int(BodyKind.JSON)))
    assert items[-2:] == [("x-motia-trace-id", "ABCDE-1234567"), ("Content-Type", "application/json")]


def test_short_json_bodies_skip_the_scan_and_long_digit_runs_are_still_refused() -> None:
    short = _encoded(STEP, HttpResult(200, b"", b"123456789012345", int(BodyKind.JSON)), "T-1")
    assert short.status == 200 and short.body == b"123456789012345"
    with pytest.raises(_BadResult, match="integer cannot be carried exactly"):  # 2^53 + 1: 16 digits
        _encoded(STEP, HttpResult(200, b"", b"9007199254740993", int(BodyKind.JSON)), "T-1")


def test_dropped_spans_are_counted_per_trace_and_the_shared_empty_count_stays_empty() -> None:
    store = TraceStore()
    store.begin("AAAAA-1", "entry")
    store.begin("BBBBB-1", "entry")
    for i in range(MAX_SPANS + 3):
        store.start_span("AAAAA-1", f"a{i}", "fan", "event", "python", 1, "t").finish(SpanStatus.FAILED)
    busy, quiet = store.get("AAAAA-1"), store.get("BBBBB-1")
    assert busy is not None and quiet is not None
    assert busy.as_json()["droppedSpans"]["count"] == 3
    assert busy.as_json()["droppedSpans"]["failed"] == 3
    assert quiet.dropped is NO_DROPS and "droppedSpans" not in quiet.as_json()
    assert NO_DROPS.count == 0 and NO_DROPS.by_step == {}


def test_evicting_a_trace_forgets_its_head_and_tail_spans() -> None:
    store = TraceStore(capacity=1)
    store.begin("AAAAA-1", "entry")
    for i in range(MAX_SPANS + 1):  # head and tail both hold spans
        store.start_span("AAAAA-1", f"a{i}", "fan", "event", "python", 1, "t")
    assert store.span("a0") is not None and store.span(f"a{MAX_SPANS}") is not None
    store.begin("BBBBB-1", "entry")  # evicts the first trace
    assert store.get("AAAAA-1") is None
    assert store.span("a0") is None and store.span(f"a{MAX_SPANS}") is None
    assert store._held == 0
