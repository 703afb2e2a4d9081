"""StepTestEnvironment runs handlers the way the runner does."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from motia import ApiRequest, ApiResponse, CallError, FlowContext, NextFn, NotJsonError, SyncFlowContext
from motia.testing import InMemoryState, StepTestEnvironment, new_trace_id


async def auth(req: ApiRequest, ctx: FlowContext, next_fn: NextFn) -> Any:
    if req.headers.get("authorization") != "secret":
        return {"status": 401, "body": {"error": "unauthorized"}}
    req["user"] = "alice"
    response = await next_fn()
    response["headers"] = {"x-auth": "1"}
    return response


def audit(req: ApiRequest, ctx: SyncFlowContext, next_fn: Any) -> Any:
    ctx.state.set("audit", req.path_params["id"], threading.current_thread().name)
    return next_fn()


async def create(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    await ctx.emit({"topic": "item.created", "data": {"id": req.path_params["id"], "by": req.user}})
    ctx.logger.info("created", {"id": req.path_params["id"]})
    return {"status": 201, "body": {"id": req.path_params["id"], "name": req.body["name"], "trace": ctx.trace_id}}


async def test_run_api_with_middleware() -> None:
    env = StepTestEnvironment(trace_id="TRACE-1", flows=["items"])
    result = await env.run_api(
        create,
        body={"name": "n"},
        headers={"Authorization": "secret"},
        path_params={"id": "7"},
        middleware=[auth, audit],
    )
    assert result == {"status": 201, "body": {"id": "7", "name": "n", "trace": "TRACE-1"}, "headers": {"x-auth": "1"}}
    assert env.emitted("item.created") == [{"id": "7", "by": "alice"}]
    assert env.logs[0].message == "created" and env.logs[0].fields == {"id": "7"}
    assert env.state.get("audit", "7") != threading.current_thread().name  # the def middleware ran in a thread


async def test_middleware_short_circuits() -> None:
    env = StepTestEnvironment()
    result = await env.run_api(create, body={"name": "n"}, path_params={"id": "7"}, middleware=[auth, audit])
    assert result == {"status": 401, "body": {"error": "unauthorized"}}
    assert env.emits == [] and env.state.groups() == {}


async def test_request_is_built_like_the_core_builds_it() -> None:
    seen: dict[str, Any] = {}

    async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
        seen.update(req)
        return {"status": 200, "body": None}

    env = StepTestEnvironment()
    await env.run_api(handler, body={"a": (1, 2)}, headers={"X-Up": "v"}, query_params={"q": "1"})
    assert seen == {
        "body": {"a": [1, 2]},
        "headers": {"x-up": "v"},
        "pathParams": {},
        "queryParams": {"q": "1"},
        "rawBody": '{"a":[1,2]}',
    }


def sync_event(data: Any, ctx: SyncFlowContext) -> dict[str, Any]:
    count = ctx.state.get("counts", "n") or 0
    ctx.state.set("counts", "n", count + data["add"])
    ctx.emit({"topic": "counted", "data": {"n": count + data["add"]}, "messageGroupId": "g"})
    return {"thread": threading.current_thread().name}


async def test_run_event_with_a_def_handler() -> None:
    env = StepTestEnvironment(state={"counts": {"n": 1}})
    result = await env.run_event(sync_event, {"add": 2})
    assert result["thread"] != threading.current_thread().name
    assert env.state.get("counts", "n") == 3
    assert env.emits == [{"topic": "counted", "data": {"n": 3}, "messageGroupId": "g"}]


async def test_run_cron() -> None:
    async def tick(ctx: FlowContext) -> None:
        await ctx.state.set("cron", "last", ctx.trace_id)

    env = StepTestEnvironment()
    assert await env.run_cron(tick) is None
    assert env.state.groups() == {"cron": {"last": env.trace_id}}


async def test_handler_errors_propagate() -> None:
    async def broken(data: Any, ctx: FlowContext) -> None:
        raise RuntimeError(f"bad {data}")

    with pytest.raises(RuntimeError, match="bad 1"):
        await StepTestEnvironment().run_event(broken, 1)


async def test_a_result_that_is_not_json_fails_like_in_the_runner() -> None:
    async def returns_set(data: Any, ctx: FlowContext) -> Any:
        return {"s": {1}}

    with pytest.raises(NotJsonError):
        await StepTestEnvironment().run_event(returns_set, None)


async def test_on_call_can_fail_calls() -> None:
    def fail(request: object) -> None:
        raise CallError("state unavailable")

    async def handler(data: Any, ctx: FlowContext) -> Any:
        try:
            await ctx.state.get("g", "k")
        except CallError as exc:
            return {"error": str(exc)}
        return None

    env = StepTestEnvironment(on_call=fail)
    assert await env.run_event(handler, None) == {"error": "state unavailable"}


async def test_state_store_keeps_json_copies() -> None:
    store = InMemoryState({"g": {"k": {"a": 1}}})
    value = store.get("g", "k")
    value["a"] = 2
    assert store.get("g", "k") == {"a": 1}
    with pytest.raises(NotJsonError):
        store.set("g", "bad", object())


async def test_reset_and_trace_ids() -> None:
    env = StepTestEnvironment()
    await env.context().emit({"topic": "t", "data": 1})
    env.reset()
    assert env.emits == [] and env.calls == []
    trace = new_trace_id()
    prefix, _, digits = trace.partition("-")
    assert len(prefix) == 5 and digits.isdigit()
