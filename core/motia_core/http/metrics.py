"""GET /metrics: the core's metrics (motia_core.metrics) in Prometheus' text format.

An admin route like /__motia/* (docs/security.md): loopback or --admin-token. A scrape reads the
queue's stats (within a time budget) and the runners' state then (metrics_render.py)."""

from __future__ import annotations

from aiohttp import web

from motia_core.http.api import API_STEP
from motia_core.http.guard import AdminGuard
from motia_core.metrics import CONTENT_TYPE, CoreMetrics


def add_metrics_route(app: web.Application, guard: AdminGuard, metrics: CoreMetrics) -> None:
    count = metrics.count_response

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        # every response passes here once; an API step's handler marked its request, whatever routed
        # it there (400, 413, 503 and 504 included)
        step = request.get(API_STEP)
        if step is not None:
            count(step, request.method, response.status)

    app.on_response_prepare.append(on_prepare)

    async def scrape(_: web.Request) -> web.Response:
        await metrics.refresh()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", guard.wrap(scrape))
