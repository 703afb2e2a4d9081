"""Motia 0.x's lenient edges, kept in every language (docs/compatibility.md, "Lenient edges").

An emit Motia drops (positional arguments, a non-object argument, no topic, a topic the step does not
declare) does not fail the handler: the request stays at 200, a warning names the step, the file and
the line of the emit call, /metrics counts it and the step's span shows an `emit_dropped` event.
`serve --strict` turns each into an error in the handler (500). Real core, real runners
(tests/fixtures/le_emits).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from motia import Context
from motia.testing import InMemorySink
from motia.transport import CallRequest
from motia_core.cli import build_parser
from motia_core.lenient import MAX_SPAN_EVENTS, EmitDrops
from motia_core.metrics import Metrics
from motia_core.runners.transport import InvocationScope
from motia_core.tracing import TraceStore, new_trace_id
from tests.conftest import FIXTURES, CoreProcess, copy_fixture

pytestmark = pytest.mark.timeout(120)

STEPS = FIXTURES / "le_emits" / "steps"
# language -> (path prefix, step name, step file)
LANGS = {
    "ts": ("ts", "TsEmit", "steps/ts_emit.step.ts"),
    "js": ("js", "JsEmit", "steps/js_emit.step.js"),
    "py": ("py", "PyEmit", "steps/py_emit_step.py"),
    "rb": ("rb", "RbEmit", "steps/rb_emit_step.rb"),
    "pysync": ("pysync", "PySyncEmit", "steps/py_sync_emit_step.py"),
}
KINDS = {
    "positional": "positional",
    "not_object": "not_object",
    "no_topic": "no_topic",
    "undeclared": "undeclared_topic",
}
CASES = [(lang, kind) for lang in ("ts", "js", "py", "rb") for kind in KINDS] + [
    ("pysync", "positional"),
    ("pysync", "undeclared"),
]


def marker_line(file: str, kind: str) -> int:
    """The line of the fixture's emit call for `kind` (marked `LE:<kind>`)."""
    lines = (STEPS.parent / file).read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if re.search(rf"LE:{kind}\b", text))


@pytest.fixture(scope="module")
def lenient_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    core = CoreProcess(copy_fixture("le_emits", tmp_path_factory.mktemp("lenient")))
    core.wait_ready(60)
    yield core
    core.stop()


@pytest.fixture(scope="module")
def strict_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    core = CoreProcess(copy_fixture("le_emits", tmp_path_factory.mktemp("strict")), ["--strict"])
    core.wait_ready(60)
    yield core
    core.stop()


async def post(core: CoreProcess, lang: str, kind: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/{LANGS[lang][0]}/emit", params={"kind": kind}) as resp:
            await resp.read()
            return resp.status, resp.headers["x-motia-trace-id"]


async def get_json(core: CoreProcess, path: str) -> Any:
    async with aiohttp.ClientSession() as session:
        async with session.get(core.url + path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


async def dropped_count(core: CoreProcess, step: str, reason: str) -> float:
    async with aiohttp.ClientSession() as session:
        async with session.get(core.url + "/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await resp.text()
    pattern = rf'^motia_emits_dropped_total\{{step="{step}",reason="{reason}"\}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def drop_warning(core: CoreProcess, trace_id: str) -> dict[str, Any]:
    return core.wait_for_log(
        lambda d: d.get("traceId") == trace_id and d.get("level") == "warn" and d.get("motia") == "emit_dropped"
    )


@pytest.mark.parametrize(("lang", "kind"), CASES)
async def test_an_emit_motia_drops_leaves_the_request_at_200_logged_counted_and_traced(
    lenient_core: CoreProcess, lang: str, kind: str
) -> None:
    _, step, file = LANGS[lang]
    reason = KINDS[kind]
    before = await dropped_count(lenient_core, step, reason)
    status, trace_id = await post(lenient_core, lang, kind)
    assert status == 200
    warning = drop_warning(lenient_core, trace_id)
    line = marker_line(file, kind)
    assert (warning["step"], warning["reason"], warning["file"], warning["line"]) == (step, reason, file, line)
    assert f"({file}:{line})" in warning["msg"] and "dropped" in warning["msg"]
    if kind == "undeclared":
        assert warning["topic"] == "le.other" and "not in its config.emits" in warning["msg"]
    assert await dropped_count(lenient_core, step, reason) == before + 1
    trace = await get_json(lenient_core, f"/__motia/traces/{trace_id}")
    [span] = trace["spans"]
    assert span["status"] == "completed"
    [event] = [e for e in span.get("events", []) if e["type"] == "emit_dropped"]
    assert (event["reason"], event["file"], event["line"]) == (reason, file, line)


@pytest.mark.parametrize("lang", ["py", "js"])
async def test_a_fire_and_forget_emit_to_an_undeclared_topic_is_still_reported(
    lenient_core: CoreProcess, lang: str
) -> None:
    """Not awaited: the warning comes when the core's reply arrives, after the handler returned."""
    _, step, file = LANGS[lang]
    status, trace_id = await post(lenient_core, lang, "nowait")
    assert status == 200
    warning = drop_warning(lenient_core, trace_id)
    assert (warning["step"], warning["reason"]) == (step, "undeclared_topic")
    assert (warning["file"], warning["line"]) == (file, marker_line(file, "nowait"))


async def test_dropped_emits_are_not_delivered_and_declared_or_unrestricted_ones_are(
    lenient_core: CoreProcess,
) -> None:
    for lang in ("ts", "js", "py", "rb"):
        assert (await post(lenient_core, lang, "ok"))[0] == 200
        assert (await post(lenient_core, lang, "undeclared"))[0] == 200
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{lenient_core.url}/any/emit") as resp:  # emits: [] allows any topic
            assert resp.status == 200
            any_trace = resp.headers["x-motia-trace-id"]
    wanted = {"ts-ok", "js-ok", "py-ok", "rb-ok", "any"}
    deadline = time.monotonic() + 30
    seen: set[str] = set()
    while time.monotonic() < deadline and not wanted <= seen:
        doc = await get_json(lenient_core, "/__motia/state?groupId=le-seen")
        seen = {item["key"] for item in doc["items"]}
        await asyncio.sleep(0.1)
    assert wanted <= seen
    assert not {k for k in seen if k.endswith(("-undeclared", "-positional", "-no-topic"))}
    # AnyEmit also emitted 'le.nobody', which no step subscribes to: dropped without a warning, as in Motia
    assert not lenient_core.find_logs(lambda d: d.get("traceId") == any_trace and d.get("level") in ("warn", "error"))


@pytest.mark.parametrize(("lang", "kind"), CASES)
async def test_strict_makes_each_dropped_emit_fail_the_request(strict_core: CoreProcess, lang: str, kind: str) -> None:
    _, step, file = LANGS[lang]
    before = await dropped_count(strict_core, step, KINDS[kind])
    status, trace_id = await post(strict_core, lang, kind)
    assert status == 500
    failure = strict_core.wait_for_log(
        lambda d: d.get("traceId") == trace_id and d.get("level") == "error" and d.get("step") == step
    )
    text = failure["msg"] + str(failure.get("stack", ""))
    if kind == "undeclared":
        assert "emitted 'le.other', which is not in its config.emits" in text and "--strict" in text
    else:
        assert "emit" in failure["msg"] and f"({file}:{marker_line(file, kind)})" in failure["msg"]
        assert "--strict" in failure["msg"]
    assert not strict_core.find_logs(lambda d: d.get("traceId") == trace_id and d.get("motia") == "emit_dropped")
    assert await dropped_count(strict_core, step, KINDS[kind]) == before


async def test_a_handler_that_returns_nothing_is_a_500(lenient_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{lenient_core.url}/ts/nothing") as resp:
            assert resp.status == 500
            assert (await resp.json())["error"] == "Internal server error"


async def test_number_ids_work_as_state_groups_and_keys(lenient_core: CoreProcess) -> None:
    """Motia builds state keys as `${groupId}:${key}`; a number id (a todo's id) works as a string."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{lenient_core.url}/ts/state") as resp:
            assert resp.status == 200, await resp.text()
            assert await resp.json() == {"value": {"n": 1}, "group": [{"n": 1}]}


async def test_deliberate_differences_are_announced_at_start(lenient_core: CoreProcess) -> None:
    notices = [d["msg"] for d in lenient_core.find_logs(lambda d: d.get("compatibility") is True)]
    assert any("bodySchema is enforced for TsBody" in n for n in notices), notices
    assert any("Python context.state.get returns the stored value" in n for n in notices), notices
    assert any("maxRetries of LeRecord means 1 try + maxRetries retries" in n for n in notices), notices
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{lenient_core.url}/ts/body", json={"name": 3}) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == "Request body failed validation"
        async with session.post(f"{lenient_core.url}/ts/body", json={"name": "le"}) as resp:
            assert resp.status == 200 and await resp.json() == {"hello": "le"}


async def test_an_event_step_subscribing_to_nothing_is_served_with_a_warning(lenient_core: CoreProcess) -> None:
    lenient_core.wait_for_log(
        lambda d: d.get("level") == "warn" and "config.subscribes is empty: LeIdle never runs" in d.get("msg", "")
    )
    steps = await get_json(lenient_core, "/__motia/steps")
    assert "LeIdle" in {s["name"] for s in steps["steps"]}


async def test_a_lease_shorter_than_the_handler_timeout_is_served_with_a_warning(lenient_core: CoreProcess) -> None:
    """Motia leaves such a handler unsubscribed; motia-core delivers to it and says what can happen."""
    lenient_core.wait_for_log(
        lambda d: (
            d.get("level") == "warn"
            and "visibilityTimeout (10 s) is not above handler.timeout (30 s)" in d.get("msg", "")
            and "steps/lease_step.py" in d.get("msg", "")
        )
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{lenient_core.url}/emit", json={"topic": "le.lease", "data": {}}) as resp:
            assert resp.status == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        doc = await get_json(lenient_core, "/__motia/state?groupId=le-seen")
        if "lease" in {item["key"] for item in doc["items"]}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("LeLease did not run")


def test_strict_has_an_environment_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MOTIA_STRICT=1 is `serve --strict`; the runners get MOTIA_STRICT from the core either way."""
    monkeypatch.setenv("MOTIA_STRICT", "1")
    assert build_parser().parse_args(["serve", "--dir", str(tmp_path)]).strict is True
    monkeypatch.setenv("MOTIA_STRICT", "0")
    assert build_parser().parse_args(["serve", "--dir", str(tmp_path)]).strict is False
    assert build_parser().parse_args(["serve", "--dir", str(tmp_path), "--strict"]).strict is True


def test_a_span_lists_at_most_max_span_events_drops_and_counts_the_rest() -> None:
    traces = TraceStore()
    traces.begin("T", "S")
    span = traces.start_span("T", "inv1", "S", "api", "python", 1, None)
    counter = Metrics().counter("drops_total", "test", ("step", "reason"))
    drops = EmitDrops(traces, counter)
    scope = InvocationScope("inv1", "T", "S", "python")
    for _ in range(MAX_SPAN_EVENTS + 7):
        drops.from_log(scope, {"motia": "emit_dropped", "reason": "positional", "file": "steps/a_step.py", "line": 3})
    events = [e for e in span.events if e["type"] == "emit_dropped"]
    assert len(events) == MAX_SPAN_EVENTS and events[-1]["more"] == 7
    assert counter.value("S", "positional") == MAX_SPAN_EVENTS + 7
    # a log line outside an invocation, or an unknown reason, is not a drop
    drops.from_log(None, {"motia": "emit_dropped", "reason": "positional"})
    drops.from_log(scope, {"motia": "emit_dropped", "reason": "made_up"})
    assert counter.value("S", "positional") == MAX_SPAN_EVENTS + 7 and counter.value("S", "made_up") == 0


def test_metrics_render_in_prometheus_text_format_with_escaped_labels() -> None:
    metrics = Metrics()
    counter = metrics.counter("x_total", "help text", ("step",))
    counter.inc('a"b\\c\nd')
    counter.inc('a"b\\c\nd')
    assert metrics.render() == ('# HELP x_total help text\n# TYPE x_total counter\nx_total{step="a\\"b\\\\c\\nd"} 2\n')
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc()


async def test_an_esm_step_js_is_served(lenient_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{lenient_core.url}/esm") as resp:
            assert resp.status == 200, await resp.text()
            assert await resp.json() == {"esm": True, "id": 36}


def test_trace_ids_have_motias_format() -> None:
    """Five characters of Motia's alphabet (no I, L, O, 0), a dash, the low digits of the time in ms."""
    for _ in range(200):
        assert re.fullmatch(r"[ABCDEFGHJKMNPQRSTUVWXYZ1-9]{5}-\d{7}", new_trace_id())


def test_serve_defaults_to_motias_port_and_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORT", raising=False)
    args = build_parser().parse_args(["serve", "--dir", str(tmp_path)])
    assert (args.port, args.host) == (3000, "0.0.0.0")


async def test_metrics_is_on_the_admin_surface(lenient_core: CoreProcess) -> None:
    """GET /metrics answers like /__motia/*: not to a foreign Host (DNS rebinding) nor through a proxy."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{lenient_core.url}/metrics", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 403 and "Host header" in (await resp.json())["message"]
        async with session.get(f"{lenient_core.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}) as resp:
            assert resp.status == 403


async def test_python_sdk_drops_bad_shapes_with_the_callers_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTIA_STRICT", raising=False)
    sink = InMemorySink()
    ctx = Context(trace_id="T", flows=[], sink=sink)
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    assert await ctx.emit("t", {"a": 1}) is None
    assert await ctx.emit(topic="t", data=1) is None
    assert await ctx.emit({"topic": ""}) is None
    assert await asyncio.to_thread(lambda: ctx.emit("t")) is None  # a def handler's thread: None at once
    assert sink.emits == []
    got = [(log.level, log.fields["reason"], log.fields["line"]) for log in sink.logs]
    assert got == [("warn", "positional", line), ("warn", "not_object", line + 1), ("warn", "no_topic", line + 2)] + [
        ("warn", "positional", line + 3)
    ]
    assert "keyword arguments" in sink.logs[1].message
    assert all(log.fields["file"].endswith("test_lenient.py") for log in sink.logs)
    monkeypatch.setenv("MOTIA_STRICT", "1")
    with pytest.raises(TypeError, match=r"positional arguments.*test_lenient.py:\d+\); serve --strict refuses it"):
        ctx.emit("t", {"a": 1})


async def test_python_sdk_reports_a_dropped_reply_even_when_not_awaited() -> None:
    reply = b'{"dropped":"undeclared_topic","message":"S emitted \'x\', which is not in its config.emits"}'

    class DroppingSink(InMemorySink):
        def call(self, request: CallRequest) -> asyncio.Future[bytes]:
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            future.set_result(reply)
            return future

    sink = DroppingSink()
    ctx = Context(trace_id="T", flows=[], sink=sink)
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    ctx.emit({"topic": "x", "data": 1})  # fire and forget
    await asyncio.sleep(0)
    [log] = sink.logs
    assert (log.level, log.fields["reason"], log.fields["topic"], log.fields["line"]) == (
        "warn",
        "undeclared_topic",
        "x",
        line,
    )
