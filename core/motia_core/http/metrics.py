"""GET /metrics: the core's metrics (motia_core.metrics) in Prometheus' text format.

An admin route like /__motia/* (docs/security.md): loopback or --admin-token. A scrape reads the
queue depths and the runners' state then (metrics.py's collectors, within their time budget)."""

from __future__ import annotations

from aiohttp import web

from motia_core.http.guard import AdminGuard
from motia_core.metrics import CONTENT_TYPE, CoreMetrics


def add_metrics_route(app: web.Application, guard: AdminGuard, metrics: CoreMetrics) -> None:
    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", guard.wrap(scrape))
