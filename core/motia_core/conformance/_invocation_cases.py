"""Cases about invocations: each trigger, calls and their replies, concurrency, failures."""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import PurePosixPath

import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._checks import (
    check_call_list,
    check_calls,
    completed,
    completed_empty,
    completed_json,
    echo_request,
    failed,
    first_difference,
    short,
)
from motia_core.conformance._kit import KIT_MAX_MESSAGE_BYTES, CaseContext, CaseFailed
from motia_core.conformance._spec import evaluate, failure_kind, spec
from motia_core.conformance._stream import Invocation

MiB = 1024 * 1024


async def api_invocation(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    body = {"text": "hello conformance", "n": 1, "nested": {"ok": True}}
    query = {"q": "a", "tags": ["x", "y"]}
    payload = {
        "body": body,
        "headers": {"x-conformance": "yes", "content-type": "application/json"},
        "pathParams": {"id": "42"},
        "queryParams": query,
        "rawBody": orjson.dumps(body).decode(),
    }
    trace = "trace-conformance-api"
    flows = ("conformance", "conformance-kit")  # not the config's flows: ctx.flows must come from StartInvocation
    echo = spec().step("echo")
    inv = runner.connected.start(runner.step(echo.name), pb.TRIGGER_API, payload, trace_id=trace, flows=flows)
    result = await ctx.wait(runner, inv.result, "the echo result")
    got = completed_json(result, "echo")
    scope = {"request": payload, "ctx": {"traceId": trace, "flows": list(flows)}}
    diff = first_difference(got, evaluate(echo.handler["returns"], scope))
    if diff:
        raise CaseFailed(f"{echo.name} returned {diff} (spec: {echo.handler['does']})")
    check_calls(inv, echo, scope, "(api)")
    return "payload, trace id, flows and fencing token round-trip"


async def event_invocation(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    fixture = spec().step("calls")
    stream.reply_delay = lambda call: 0.005  # late replies expose a call the handler did not await
    try:
        inv = stream.start(runner.step(fixture.name), pb.TRIGGER_EVENT, {"key": "ev1", "n": 7}, topic=fixture.topic)
        result = await ctx.wait(runner, inv.result, "the calls step's result")
    finally:
        stream.reply_delay = None
    completed_empty(result, "calls step")
    check_calls(inv, fixture, {"input": {"key": "ev1", "n": 7}}, "(ev1)")
    return f"{len(inv.calls)} calls in order, each awaited; emit proves the replies arrived"


async def calls_correlated(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    rng = random.Random(7)
    # Answer late and out of order: a reply may overtake replies to earlier calls.
    stream.reply_delay = lambda call: rng.choice((0.0, 0.0, 0.004, 0.012, 0.03))
    fixture = spec().step("calls")
    step = runner.step(fixture.name)
    try:
        invs = [stream.start(step, pb.TRIGGER_EVENT, {"key": f"cc{i}", "n": i}, topic=fixture.topic) for i in range(12)]
        await ctx.wait(runner, asyncio.gather(*(i.result for i in invs)), "12 concurrent calls-step results")
    finally:
        stream.reply_delay = None
    for i, inv in enumerate(invs):
        completed_empty(inv.result.result(), f"calls step cc{i}")
        check_calls(inv, fixture, {"input": {"key": f"cc{i}", "n": i}}, f"(cc{i})")
    ids = [c.request_id for inv in invs for c in inv.calls if c.op != "log"]
    if len(set(ids)) != len(ids):
        raise CaseFailed("request ids repeat across invocations")
    return f"{len(ids)} calls over {len(invs)} invocations, replies out of order, all correlated"


async def cron_invocation(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    trace = "trace-conformance-cron"
    tick = spec().step("tick")
    inv = runner.connected.start(runner.step(tick.name), pb.TRIGGER_CRON, None, trace_id=trace)
    result = await ctx.wait(runner, inv.result, "the tick result")
    completed_empty(result, "tick")
    check_calls(inv, tick, {"ctx": {"traceId": trace, "flows": []}}, "(cron)")
    return "empty payload, emit carries the trace id"


async def lenient_emit(ctx: CaseContext) -> str:
    """Motia's lenient emits (docs/compatibility.md): a positional emit is not sent, an emit the core
    answers with "dropped" is not an error; both leave the handler running and log one WARN line
    with {motia: "emit_dropped", reason, file, line} naming the handler's own file."""
    runner = await ctx.shared()
    lenient = spec().step("lenient")
    step = runner.step(lenient.name)
    file_name = PurePosixPath(step).name
    for variant in lenient.handler["cases"]:
        data = variant["input"]
        kind = data.get("kind", short(data))
        inv = runner.connected.start(step, pb.TRIGGER_EVENT, data, topic=lenient.topic)
        completed_empty(await ctx.wait(runner, inv.result, f"the lenient step's result ({kind})"), f"lenient {kind}")
        sent = [c for c in variant["calls"] if c["op"] != "log"]
        check_call_list(inv, sent, {"input": data}, f"{lenient.name} ({kind}: {variant['does']})", skip_logs=True)
        logs = [c for c in inv.calls if c.op == "log"]
        warns = variant["warns"]
        drops = [c.args for c in logs if (c.args["fields"] or {}).get("motia") == warns["motia"]]
        if len(drops) != 1:
            raise CaseFailed(
                f"the {kind} emit must log one line with fields.motia {warns['motia']!r}, got {len(drops)}"
            )
        fields, level = drops[0]["fields"], drops[0]["level"]
        reason = warns["reason"]
        if level != pb.Log.LEVEL_WARN or fields.get("reason") != reason:
            raise CaseFailed(
                f"the {kind} emit's log: level {level}, reason {fields.get('reason')!r}; want WARN, {reason!r}"
            )
        line = fields.get("line")
        if not str(fields.get("file", "")).endswith(file_name) or not isinstance(line, int) or line < 1:
            raise CaseFailed(f"the {kind} emit's log must name {file_name} and a line, got {short(str(fields), 120)}")
    return "positional emit not sent, dropped reply not raised; each one WARN with file and line"


async def concurrent_interleaved(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    if stream.hello.concurrency_slots < 150:
        raise CaseFailed(f"the runner offers {stream.hello.concurrency_slots} slots; this case needs 150")
    calls_fixture, slow_fixture = spec().step("calls"), spec().step("slow")
    calls_step, slow_step = runner.step(calls_fixture.name), runner.step(slow_fixture.name)
    rng = random.Random(150)
    stream.reply_delay = lambda call: rng.choice((0.0, 0.0, 0.0, 0.002, 0.01, 0.025))
    frames_before, sent_before = len(stream.frames_in), stream.frames_out
    calls: list[Invocation] = []
    slow: list[Invocation] = []
    try:
        for i in range(100):  # one frame: 100 calls-step invocations with 50 slow ones in between
            data = {"key": f"ci{i}", "n": i}
            calls.append(stream.start(calls_step, pb.TRIGGER_EVENT, data, topic=calls_fixture.topic))
            if i % 2:
                slow_data = {"ms": 100, "n": i}
                slow.append(stream.start(slow_step, pb.TRIGGER_EVENT, slow_data, topic=slow_fixture.topic))
        everything = [inv.result for inv in calls + slow]
        await ctx.wait(runner, asyncio.gather(*everything), "150 concurrent results")
    finally:
        stream.reply_delay = None
    for i, inv in enumerate(calls):
        completed_empty(inv.result.result(), f"calls step ci{i}")
        check_calls(inv, calls_fixture, {"input": {"key": f"ci{i}", "n": i}}, f"(ci{i})")
    for inv in slow:
        data = orjson.loads(inv.start.payload_json)
        completed_empty(inv.result.result(), f"slow step {data['n']}")
        check_calls(inv, slow_fixture, {"input": data}, f"({data['n']})")
    frames = stream.frames_in[frames_before:]
    envelopes = sum(frames)
    if frames and max(frames) <= 1:
        raise CaseFailed(f"{envelopes} envelopes came in {len(frames)} frames of one: the runner does not batch")
    return (
        f"150 invocations: runner sent {envelopes} envelopes in {len(frames)} frames "
        f"(max {max(frames, default=0)}/frame), kit sent {stream.frames_out - sent_before} frames"
    )


async def handler_failure(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    boom = spec().step("boom")
    fails = boom.handler["fails"]
    step = runner.step(boom.name)
    inv = runner.connected.start(step, pb.TRIGGER_EVENT, {}, topic=boom.topic)
    kind = failure_kind(fails["kind"])
    failure = failed(await ctx.wait(runner, inv.result, "the boom result"), kind, boom.name)
    if fails["message_contains"] not in failure.message:
        raise CaseFailed(f"the message {short(failure.message)!r} does not contain {fails['message_contains']!r}")
    file_name = PurePosixPath(step).name
    if fails.get("stack_names_file") and file_name not in failure.stack:
        raise CaseFailed(f"the stack does not mention {file_name}: {short(failure.stack, 200)!r}")
    if not failure.error_type:
        raise CaseFailed("error_type is empty")
    return f"{fails['kind']} {failure.error_type}, stack names {file_name}"


def _big_request(size: int) -> dict[str, object]:
    body = {"size": size}
    return {"body": body, "headers": {}, "pathParams": {}, "queryParams": {}, "rawBody": orjson.dumps(body).decode()}


def _mentions_limit(message: str, limit: int) -> bool:
    """A number between limit/2 and limit (runners keep room for the envelope), or 1 MiB spelled out."""
    numbers = [int(n.replace(",", "").replace("_", "")) for n in re.findall(r"\d[\d,_]*", message)]
    return any(limit // 2 <= n <= limit for n in numbers) or "1 MiB" in message or "1MiB" in message


async def oversize_result(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    big_fixture = spec().step("big")
    big = runner.step(big_fixture.name)
    too_big = stream.start(big, pb.TRIGGER_API, _big_request(2 * MiB))
    result = await ctx.wait(runner, too_big.result, "the result of a 2 MiB response")
    failure = failed(result, pb.FAILURE_KIND_BAD_RESULT, f"a result above Welcome.max_message_bytes ({MiB})")
    if not _mentions_limit(failure.message, KIT_MAX_MESSAGE_BYTES):
        raise CaseFailed(f"the BAD_RESULT message does not mention the {MiB}-byte limit: {short(failure.message)!r}")
    fits_request = _big_request(256 * 1024)
    fits = stream.start(big, pb.TRIGGER_API, fits_request)
    body = completed_json(await ctx.wait(runner, fits.result, "the result of a 256 KiB response"), "256 KiB big")
    want = evaluate(big_fixture.handler["returns"], {"request": fits_request})
    if first_difference(body, want):
        data = body.get("body", {}).get("data") if isinstance(body, dict) else None
        got = f"{len(data)} characters" if isinstance(data, str) else short(body, 80)
        raise CaseFailed(f"the 256 KiB response did not come back whole ({got}; spec: {big_fixture.handler['does']})")
    echo = stream.start(runner.step(spec().step("echo").name), pb.TRIGGER_API, echo_request("after oversize"))
    completed(await ctx.wait(runner, echo.result, "the echo result after the oversize one"), "echo after oversize")
    if stream.max_frame_bytes > KIT_MAX_MESSAGE_BYTES:
        raise CaseFailed(f"the runner sent a {stream.max_frame_bytes}-byte frame, above max_message_bytes {MiB}")
    return f"BAD_RESULT: {short(failure.message, 90)}"
