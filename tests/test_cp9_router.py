"""Core per request, fifth pass (docs/performance.md). http/router.py's CatchAllRouter answers a path
outside the other routes' first segments with the catch-all at once. Whatever it answers must be what
aiohttp's own UrlDispatcher answers for the same routes: same route, same match dict, same 404/405."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_urldispatcher import AbstractRoute

from motia_core.dispatch import InvokeRequest
from motia_core.http.api import api_handler
from motia_core.http.router import CATCH_ALL, CatchAllRouter
from motia_core.logs import Logger
from motia_core.project import RunnerName, StepFile
from motia_core.runners.http_body import BodyEncoding, HttpRequestBody, HttpResult
from motia_core.runners.transport import Outcome
from motia_core.steps import Step, StepType
from motia_core.tracing import SPAN_HEAD, TraceStore

METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD")
PATHS = (
    "/",
    "/floor/api",
    "/users/7/posts",
    "/a%2Fb/c%25d",
    "/%5F_motia/steps",
    "/__motia",
    "/__motia/",
    "/__motia/steps",
    "/__motia/traces/abc",
    "/__motia/nope/deeper",
    "/__motiax",
    "/emit",
    "/emit/more",
    "/emitter",
    "/metrics",
    "/metrics/x",
    "/workbench",
    "/workbench/assets/app.js",
    "//double",
    "/trailing/",
)


async def _handler(_: web.Request) -> web.StreamResponse:
    return web.Response()


# the core's route shapes (http/*.py), optionally plus a Workbench and routes keyed at '/'
CORE_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/__motia"),
    ("GET", "/__motia/steps"),
    ("GET", "/__motia/traces"),
    ("GET", "/__motia/traces/{trace_id}"),
    ("PUT", "/__motia/state/{group}/{key}"),
    ("GET", "/__motia/streams/item/{name}/{group}/{id}"),
    ("POST", "/__motia/login"),
    ("POST", "/emit"),
    ("GET", "/metrics"),
)
WORKBENCH = (("GET", "/workbench"), ("GET", "/workbench/{tail:.*}"))


def _build(router: web.UrlDispatcher, routes: tuple[tuple[str, str], ...]) -> AbstractRoute:
    for method, path in routes:
        router.add_route(method, path, _handler)
    if isinstance(router, CatchAllRouter):
        catch_all = router.add_catch_all(_handler)
    else:
        catch_all = router.add_route("*", CATCH_ALL, _handler)
    router.freeze()
    return catch_all


async def _answer(router: web.UrlDispatcher, method: str, path: str) -> tuple[object, ...]:
    info = await router.resolve(make_mocked_request(method, path))
    if info.http_exception is not None:
        return ("error", info.http_exception.status, sorted(getattr(info.http_exception, "allowed_methods", ())))
    return ("route", info.route.method, info.route.resource.canonical if info.route.resource else None, dict(info))


@pytest.mark.parametrize(
    ("routes", "shortcut"),
    [
        (CORE_ROUTES, True),
        (CORE_ROUTES + WORKBENCH, True),
        (CORE_ROUTES + (("GET", "/"),), False),  # a route keyed at '/' is tried before the catch-all
        (CORE_ROUTES + (("GET", "/{page}"),), False),
    ],
    ids=["core", "workbench", "root-route", "root-param"],
)
async def test_resolves_as_aiohttp_does(routes: tuple[tuple[str, str], ...], shortcut: bool) -> None:
    plain = web.UrlDispatcher()
    _build(plain, routes)
    fast = CatchAllRouter()
    catch_all = _build(fast, routes)
    assert fast.shortcut is shortcut
    answered_by_catch_all = 0
    for path in PATHS:
        for method in METHODS:
            expected = await _answer(plain, method, path)
            assert await _answer(fast, method, path) == expected, (method, path)
            info = await fast.resolve(make_mocked_request(method, path))
            answered_by_catch_all += info.route is catch_all
    assert answered_by_catch_all > 0  # the comparison covered the catch-all's answers too


async def test_catch_all_match_info_is_a_fresh_one_per_request() -> None:
    """aiohttp adds the app to a request's match info and freezes it: it cannot be shared."""
    router = CatchAllRouter()
    _build(router, CORE_ROUTES)
    first = await router.resolve(make_mocked_request("GET", "/floor/api"))
    second = await router.resolve(make_mocked_request("GET", "/floor/api"))
    assert first is not second
    app = web.Application()
    first.add_app(app)
    first.freeze()
    assert second.apps == ()


async def test_without_a_catch_all_it_is_aiohttps_router() -> None:
    router = CatchAllRouter()
    router.add_get("/only", _handler)
    router.freeze()
    assert router.shortcut is False
    assert (await router.resolve(make_mocked_request("GET", "/other"))).http_exception is not None


async def test_bodyless_requests_reach_the_runner_as_before() -> None:
    """http/api.py shares one parsed empty body and one HttpRequestBody between GETs without a
    Content-Type: what the runner gets is unchanged, and a Content-Type still reaches it."""
    seen: list[InvokeRequest] = []

    async def invoke(req: InvokeRequest) -> Outcome:
        seen.append(req)
        return Outcome(http=HttpResult(status=200, headers_json=b"", body=b"{}", body_kind=1))

    file = StepFile(Path("/p/steps/a.step.ts"), "steps/a.step.ts", "typescript", RunnerName("node"))
    step = Step(file, StepType.API, "A", {}, flows=("f",), path="/a", method="GET")
    handler = api_handler(step, None, invoke, TraceStore(), Logger("json", stream=io.StringIO()))
    for headers in ({}, {}, {"Content-Type": "application/json"}):
        response = await handler(make_mocked_request("GET", "/a", headers=headers))
        assert response.status == 200
    bare, again, typed = seen
    assert bare.http_body == again.http_body == HttpRequestBody(b"", "", BodyEncoding.IN_PAYLOAD)
    assert typed.http_body == HttpRequestBody(b"", "application/json", BodyEncoding.IN_PAYLOAD)
    for req in seen:
        assert orjson.loads(req.payload)["body"] == {}
    assert bare.trace_id != again.trace_id


def test_begin_evicts_the_oldest_trace_with_its_head_and_tail_spans() -> None:
    """A trace begun in a full store evicts the oldest (tracing.py; an inline copy of that eviction
    was tried this pass and not kept): every span of the evicted trace is let go, those of its tail
    included, and the store's span count follows (max_spans still bounds it)."""
    traces = TraceStore(capacity=2, max_spans=400)
    traces.begin("big", "A")
    ids = [f"s{i}" for i in range(SPAN_HEAD + 50)]  # a head and a tail
    for span_id in ids:
        traces.start_span("big", span_id, "A", "api", "python", 1, None)
    traces.begin("small", "B")
    traces.start_span("small", "only", "B", "api", "python", 1, None)
    traces.begin("third", "C")  # one in, the oldest ("big") out
    assert traces.get("big") is None
    assert all(traces.span(span_id) is None for span_id in ids)
    assert traces.span("only") is not None
    # had the evicted spans still been counted, 399 more would push "small" out too
    for i in range(399):
        traces.start_span("third", f"t{i}", "C", "api", "python", 1, None)
    assert traces.get("small") is not None
