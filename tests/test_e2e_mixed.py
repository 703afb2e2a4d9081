"""End to end on tests/fixtures/mixed: a real core, real Node and Python runners, real HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess


async def _poll_record(session: aiohttp.ClientSession, url: str, trace_id: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async with session.get(f"{url}/messages/{trace_id}") as resp:
            if resp.status == 200:
                record = (await resp.json())["record"]
                if record.get("done"):
                    return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"chain did not finish; last record {record}")


async def test_ts_python_js_chain_shares_state_and_trace(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mixed_core.url}/messages", json={"text": "hello"}) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            assert body["ok"] is True
            trace_id = body["traceId"]
            assert resp.headers["x-motia-trace-id"] == trace_id
        record = await _poll_record(session, mixed_core.url, trace_id)
        assert record["steps"] == ["typescript", "python", "javascript"]
        assert record["shouted"] == "HELLO!"
        async with session.get(f"{mixed_core.url}/__motia/traces/{trace_id}") as resp:
            trace = await resp.json()
    spans = trace["spans"]
    assert [s["step"] for s in spans] == ["SendMessage", "ProcessMessage", "FinalizeMessage"]
    assert [s["language"] for s in spans] == ["typescript", "python", "javascript"]
    assert all(s["status"] == "completed" for s in spans)
    assert all(s["endTime"] >= s["startTime"] for s in spans)
    # every handler's log line carries the step, the language and the one trace id
    mixed_core.wait_for_log(lambda d: d.get("msg") == "chain finished" and d.get("traceId") == trace_id)
    lines = mixed_core.find_logs(lambda d: d.get("traceId") == trace_id and d.get("source") == "step")
    seen = {(d["step"], d["language"]) for d in lines}
    assert {("SendMessage", "typescript"), ("ProcessMessage", "python"), ("FinalizeMessage", "javascript")} <= seen
    for d in lines:
        assert {"time", "level", "msg"} <= d.keys()


async def test_body_failing_schema_is_400_and_handler_not_called(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mixed_core.url}/messages", json={"text": "", "priority": "high"}) as resp:
            assert resp.status == 400
            doc = await resp.json()
    assert doc["error"] == "Request body failed validation"
    paths = {e["path"] for e in doc["errors"]}
    assert paths == {"/text", "/priority"}
    assert "x-motia-trace-id" not in resp.headers  # no trace: the handler never ran


async def test_malformed_json_is_400(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{mixed_core.url}/messages", data=b'{"text": ', headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 400
            doc = await resp.json()
    assert doc["error"] == "Invalid request body"
    assert "malformed JSON" in doc["message"]


async def test_path_query_headers_and_response_headers(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mixed_core.url}/messages", json={"text": "q"}) as resp:
            trace_id = (await resp.json())["traceId"]
        await _poll_record(session, mixed_core.url, trace_id)
        url = f"{mixed_core.url}/messages/{trace_id}?verbose=1&verbose=2&single=x"
        async with session.get(url, headers={"X-Agent": "pytest"}) as resp:
            assert resp.status == 200
            assert resp.headers["x-served-by"] == "typescript"
            doc = await resp.json()
        async with session.get(f"{mixed_core.url}/messages/nope") as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": "no such message"}
    assert doc["query"] == {"verbose": ["1", "2"], "single": "x"}
    assert doc["agent"] == "pytest"


async def test_python_middleware_runs_in_order_and_can_short_circuit(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{mixed_core.url}/py/hello/bob") as resp:
            assert resp.status == 200
            assert resp.headers["x-middleware"] == "python"
            doc = await resp.json()
            trace_header = resp.headers["x-motia-trace-id"]
        async with session.get(f"{mixed_core.url}/py/hello/bob", headers={"x-agent": "blocked"}) as resp:
            assert resp.status == 403
            assert await resp.json() == {"error": "agent blocked"}
    assert doc["greeting"] == "hello bob"
    assert doc["same"] is True
    assert doc["middleware"] == "yes"
    assert doc["traceId"] == trace_header


async def test_ts_middleware_from_outside_steps(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{mixed_core.url}/echo/7", json={"a": 1}) as resp:
            assert resp.status == 401
        async with session.put(
            f"{mixed_core.url}/echo/7", json={"a": 1}, headers={"Authorization": "Bearer good"}
        ) as resp:
            assert resp.status == 201
            doc = await resp.json()
    assert doc == {"id": "7", "body": {"a": 1}, "raw": '{"a": 1}', "stamped": True}


@pytest.mark.parametrize(("path", "needle"), [("/boom", "kaboom from typescript"), ("/py/boom", "kaboom from python")])
async def test_handler_error_is_500_with_stack_in_log(mixed_core: CoreProcess, path: str, needle: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mixed_core.url}{path}", json={}) as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "Internal server error"}
            trace_id = resp.headers["x-motia-trace-id"]
    line = mixed_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("level") == "error")
    assert needle in line["msg"]
    assert line.get("stack"), line


async def test_unknown_route_is_404(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{mixed_core.url}/no/such/route") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"] == "Not found"


async def test_builtin_emit_endpoint(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mixed_core.url}/emit", json={"topic": "nobody.listens", "data": {"x": 1}}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"success": True, "emitted": {"topic": "nobody.listens", "data": {"x": 1}}}
        async with session.post(f"{mixed_core.url}/emit", json={"data": {}}) as resp:
            assert resp.status == 400


async def test_emit_failing_subscriber_schema_is_a_warning_by_default(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mixed_core.url}/emit", json={"topic": "message.sent", "data": {"nope": 1}}) as resp:
            assert resp.status == 200
    line = mixed_core.wait_for_log(lambda d: "does not match the input schema of ProcessMessage" in d.get("msg", ""))
    assert line["level"] == "warn"
    assert "text" in line["msg"]


async def test_100_concurrent_calls_to_python_and_typescript(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:

        async def call(path: str, n: int) -> tuple[int, dict[str, Any]]:
            async with session.post(f"{mixed_core.url}{path}", json={"n": n}) as resp:
                return resp.status, await resp.json()

        results = await asyncio.gather(
            *(call("/py/slow", n) for n in range(100)), *(call("/ts/slow", n) for n in range(100))
        )
    assert [r[0] for r in results] == [200] * 200
    assert [r[1]["n"] for r in results] == list(range(100)) * 2
    assert len({r[1]["trace"] for r in results}) == 200  # one trace per request


async def test_flows_and_steps_introspection(mixed_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{mixed_core.url}/__motia/flows") as resp:
            flows = {f["id"]: f for f in (await resp.json())["flows"]}
        async with session.get(f"{mixed_core.url}/__motia/steps") as resp:
            steps = {s["name"]: s for s in (await resp.json())["steps"]}
    messaging = flows["messaging"]
    edges = {(e["source"], e["target"], e["data"]["topic"], e["data"]["variant"]) for e in messaging["edges"]}
    assert ("steps/api/send-message.step.ts", "steps/events/process_message_step.py", "message.sent", "event") in edges
    assert ("steps/flow-start.step.ts", "steps/events/process_message_step.py", "message.sent", "virtual") in edges
    assert steps["SendMessage"]["bodySchema"]["required"] == ["text"]
    assert steps["ProcessMessage"]["subscribes"] == ["message.sent"]
    assert steps["ManualStart"]["type"] == "noop"
