"""GET /metrics: the core's metrics (motia_core.metrics) in Prometheus' text format, and the count
of every API step's responses by status code.

An admin route like /__motia/* (docs/security.md): loopback or --admin-token. A scrape reads the
queue's stats (within a time budget) and the runners' state then (metrics_render.py)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from motia_core.http.common import Handler
from motia_core.http.guard import AdminGuard
from motia_core.metrics import CONTENT_TYPE, CoreMetrics

# (step name, request method, status code): CoreMetrics.count_response
CountResponse = Callable[[str, str, int], None]


def counted(handler: Handler, step: str, count: CountResponse) -> Handler:
    """`handler`, an API step's route, with each of its responses counted under `step`.

    Counted here, around the route, rather than in an `on_response_prepare` hook: a hook makes
    aiohttp send a signal (a coroutine per receiver) for every response of every route, ~4 µs per
    response (docs/performance.md, "Core per request, third pass"). A handler that raises gets the
    status aiohttp answers it with (its HTTPException's, else 500); a cancelled one (the client went
    away) sends no response and is not counted, as before.
    """

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            count(step, request.method, exc.status)
            raise
        except Exception:
            count(step, request.method, 500)
            raise
        count(step, request.method, response.status)
        return response

    return handle


def add_metrics_route(app: web.Application, guard: AdminGuard, metrics: CoreMetrics) -> None:
    async def scrape(_: web.Request) -> web.Response:
        await metrics.refresh()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", guard.wrap(scrape))
