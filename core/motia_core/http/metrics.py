"""GET /metrics: the core's metrics (motia_core.metrics) in Prometheus' text format.

An admin route like /__motia/* (docs/security.md): loopback or --admin-token. A scrape reads the
queue's stats and the runners' state then (metrics.py's collectors; the queue within a time budget)."""

from __future__ import annotations

from aiohttp import web

from motia_core.http.guard import AdminGuard
from motia_core.metrics import CONTENT_TYPE, CoreMetrics


def add_metrics_route(app: web.Application, guard: AdminGuard, metrics: CoreMetrics) -> None:
    count = metrics.count_response

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        # every response passes here once, whichever handler or wrapper made it (400, 413, 503, ...)
        route = request.match_info.route
        resource = route.resource
        if resource is not None:
            count(route.method, resource.canonical, response.status)

    app.on_response_prepare.append(on_prepare)

    async def scrape(_: web.Request) -> web.Response:
        await metrics.refresh()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", guard.wrap(scrape))
