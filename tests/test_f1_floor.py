"""The floor experiment's pieces (bench/README.md#the-floor): the in-process session answering an API
call with a runner-encoded result, and the floor server's two routes through a real `serve`."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import copy_fixture

from motia_core.calls import CoreCalls
from motia_core.errors import AdmissionTimeout
from motia_core.logs import Logger
from motia_core.runners.fake import FakeContext, FakeSession
from motia_core.runners.http_body import BodyKind, HttpResult
from motia_core.runners.transport import Invocation, InvocationScope, Trigger
from motia_core.state.sqlite import SqliteStateStore

REPO = Path(__file__).resolve().parents[1]
FLOOR_SERVER = REPO / "bench" / "benchlib" / "floor_server.py"
ENCODED = HttpResult(status=201, headers_json=b'{"x-floor":"1"}', body=b'{"ok":true}', body_kind=int(BodyKind.JSON))


def _invocation(step_id: str, iid: str = "i1") -> tuple[Invocation, InvocationScope]:
    inv = Invocation(
        invocation_id=iid,
        step_id=step_id,
        trigger=Trigger.API,
        payload=b'{"headers":{},"pathParams":{},"queryParams":{}}',
        trace_id="T",
        flows=(),
        fencing_token=1,
    )
    return inv, InvocationScope(iid, "T", step_id, "python", (), ())


async def test_fake_session_returns_a_runner_encoded_result_without_keeping_invocations(tmp_path: Path) -> None:
    state = SqliteStateStore(tmp_path / "s.db")
    calls = CoreCalls(state, Logger("json", stream=io.StringIO()))

    def answer(_payload: bytes, _ctx: FakeContext) -> HttpResult:
        return ENCODED

    try:
        session = FakeSession({"s": answer}, calls, keep_invocations=False)
        outcome = await session.invoke(*_invocation("s"), admission_timeout=1.0)
        assert outcome.failure is None
        assert outcome.http is ENCODED and outcome.payload == b""
        assert session.invocations == []  # keep_invocations=False: nothing piles up under load
        kept = FakeSession({"s": lambda _p, _c: b'{"status":200}'}, calls)
        outcome = await kept.invoke(*_invocation("s"), admission_timeout=1.0)
        assert outcome.http is None and outcome.payload == b'{"status":200}'
        assert [i.invocation_id for i in kept.invocations] == ["i1"]
    finally:
        await state.close()


async def test_fake_session_still_bounds_the_wait_for_a_slot(tmp_path: Path) -> None:
    """The no-task fast path must not lose admission control: a full session times out."""
    state = SqliteStateStore(tmp_path / "s.db")
    calls = CoreCalls(state, Logger("json", stream=io.StringIO()))
    release = asyncio.Event()

    async def slow(_payload: bytes, _ctx: FakeContext) -> bytes:
        await release.wait()
        return b"{}"

    try:
        session = FakeSession({"s": slow}, calls, slots=1)
        first = asyncio.ensure_future(session.invoke(*_invocation("s"), admission_timeout=1.0))
        await asyncio.sleep(0.05)
        assert session.in_flight == 1
        with pytest.raises(AdmissionTimeout):
            await session.invoke(*_invocation("s", "i2"), admission_timeout=0.2)
        release.set()
        assert (await first).payload == b"{}"
        assert session.in_flight == 0
    finally:
        await state.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, dict[str, str], Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, dict(resp.headers), orjson.loads(resp.read())


@pytest.mark.timeout(90)
def test_floor_server_routes_take_the_core_path(tmp_path: Path) -> None:
    """/floor/http answers in the route; /floor/dispatch goes through the dispatch layers (a trace of
    the borrowed step, its span completed) to the in-process session; the real step still works."""
    project = copy_fixture("f1_floor", tmp_path)
    port = _free_port()
    log = tmp_path / "floor.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(FLOOR_SERVER), "serve", "--dir", str(project), "--port", str(port)]
            + ["--host", "127.0.0.1", "--log-level", "warn"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FLOOR_MODEL_PATH": "/noop/py"},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _get(base + "/noop/py")[2] == {"ok": True}
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        status, headers, body = _get(base + "/floor/http")
        assert (status, body) == (200, {"ok": True})
        assert "x-motia-trace-id" not in {k.lower() for k in headers}  # answered before any trace
        status, headers, body = _get(base + "/floor/dispatch")
        assert (status, body) == (200, {"ok": True})
        trace_id = {k.lower(): v for k, v in headers.items()}["x-motia-trace-id"]
        _, _, trace = _get(f"{base}/__motia/traces/{trace_id}")
        spans = trace["spans"] if isinstance(trace, dict) and "spans" in trace else trace["trace"]["spans"]
        assert [(s["step"], s["status"]) for s in spans] == [("FloorDispatch", "completed")], json.dumps(trace)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
