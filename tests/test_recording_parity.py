"""A log line from a TypeScript handler is recorded exactly as the same line from a Python handler
(issue 10, the recording target): same stored fields, one stored line and one span event per call,
each carrying its request's trace id. Real core, real Node and Python runners, real .motia/logs.db
(tests/fixtures/rec_parity: two API steps logging the same line)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture
from tests.test_observability import call, until

CALLS = 40  # per language, 16 at a time: lines from calls in flight together, as under load
FIELDS = {"n": 7, "nested": {"ok": True, "list": [1, "two"]}, "text": "héllo", "flows": ["rec"]}
LANGUAGES = {"ts": ("RecTs", "typescript"), "py": ("RecPy", "python")}


@pytest.fixture(scope="module")
def rec_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("rec_parity", tmp_path_factory.mktemp("rec"))
    core = CoreProcess(project)
    core.wait_ready()
    yield core
    core.stop()


async def _calls(core: CoreProcess, lang: str) -> list[str]:
    """CALLS requests to /rec/<lang>, 16 in flight; the trace id each answered with."""
    gate = asyncio.Semaphore(16)

    async def one(session: aiohttp.ClientSession) -> str:
        async with gate, session.get(f"{core.url}/rec/{lang}") as resp:
            body = await resp.json()
            assert resp.status == 200, body
            return str(body["traceId"])

    async with aiohttp.ClientSession() as session:
        return list(await asyncio.gather(*(one(session) for _ in range(CALLS))))


async def _kept(core: CoreProcess, step: str, want: int) -> list[dict[str, Any]]:
    async def lines() -> list[dict[str, Any]]:
        status, doc = await call(core, "GET", f"/__motia/logs?step={step}&limit=1000")
        assert status == 200, doc
        return list(doc["logs"]) if len(doc["logs"]) >= want else []

    return await until(lines, what=f"{want} lines of {step} in /__motia/logs")


@pytest.mark.timeout(120)
async def test_ts_and_python_log_lines_are_recorded_alike(rec_core: CoreProcess) -> None:
    kept: dict[str, list[dict[str, Any]]] = {}
    for lang, (step, language) in LANGUAGES.items():
        trace_ids = await _calls(rec_core, lang)
        assert len(set(trace_ids)) == CALLS
        lines = kept[lang] = await _kept(rec_core, step, CALLS)
        # one stored line per call, none doubled or lost, each under the trace of the call that logged it
        assert len(lines) == CALLS, f"{step}: {len(lines)} lines kept for {CALLS} calls"
        assert sorted(d["traceId"] for d in lines) == sorted(trace_ids)
        for doc in lines:
            assert doc["message"] == "rec line" and doc["level"] == "info", doc
            assert doc["language"] == language and doc["source"] == "step" and doc["step"] == step, doc
            assert doc["fields"] == FIELDS, doc  # every field, nested values and non-ASCII text intact
            assert isinstance(doc["time"], int) and doc["time"] > 0
        # the line is also the span's event: exactly one per call
        for trace_id in trace_ids[:5]:
            status, trace = await call(rec_core, "GET", f"/__motia/traces/{trace_id}")
            assert status == 200, trace
            events = [e for span in trace["spans"] for e in span.get("events", []) if e["type"] == "log"]
            assert [(e["level"], e["message"]) for e in events] == [("info", "rec line")], trace

    def shape(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k not in ("id", "time", "traceId", "step", "language")}

    assert shape(kept["ts"][0]) == shape(kept["py"][0])
    assert {tuple(sorted(d)) for d in kept["ts"]} == {tuple(sorted(d)) for d in kept["py"]}

    async with aiohttp.ClientSession() as session, session.get(f"{rec_core.url}/metrics") as resp:
        text = await resp.text()
    lost = re.search(r"^motia_log_lines_not_recorded_total(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    assert lost is None or float(lost.group(1)) == 0, "the recorder dropped lines"
