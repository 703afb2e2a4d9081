"""The aiohttp application: API step routes, built-in routes, the stream WebSocket (any path),
JSON 404s and CORS preflight. Admin routes go behind the AdminGuard (docs/security.md); API step
routes do not pay for it."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from aiohttp import hdrs, web

from motia_core.http.admin_cron import add_cron_routes
from motia_core.http.admin_dlq import add_dlq_routes
from motia_core.http.admin_live import add_live_route
from motia_core.http.admin_logs import add_log_routes
from motia_core.http.admin_queue import add_queue_routes
from motia_core.http.admin_state import add_state_routes
from motia_core.http.admin_steps import add_step_routes
from motia_core.http.admin_traces import add_trace_routes
from motia_core.http.common import CorsPolicy, Handler, admin_json_response, json_response
from motia_core.http.guard import AdminGuard, add_login_routes, is_admin_path
from motia_core.http.live_routes import LiveApiRoutes
from motia_core.http.metrics import add_metrics_route
from motia_core.http.router import CatchAllRouter
from motia_core.http.streams import add_stream_routes
from motia_core.http.system import add_system_routes
from motia_core.http.workbench import add_workbench
from motia_core.steps import StepType

if TYPE_CHECKING:
    from motia_core.http.served import ServedCore


def _fallback(cors: CorsPolicy, guard: AdminGuard) -> Handler:
    """Whatever no route matched: CORS preflight (204, as Motia answers OPTIONS) or a JSON 404. Under an
    admin prefix: guarded, no CORS headers, so a browser's preflight is never approved."""

    async def public(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=cors.preflight_headers(origin))
        response = json_response(
            404, {"error": "Not found", "message": f"no route for {request.method} {request.path}"}
        )
        if not cors.any:
            cors.apply(response, origin)
        return response

    async def admin(request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return web.Response(status=204)
        return admin_json_response(
            404, {"error": "Not found", "message": f"no route for {request.method} {request.path}"}
        )

    guarded_admin = guard.wrap(admin)

    async def handle(request: web.Request) -> web.StreamResponse:
        return await (guarded_admin if is_admin_path(request.path) else public)(request)

    return handle


def build_app(core: ServedCore) -> web.Application:
    router = CatchAllRouter()  # the API steps' catch-all without the index walk (http/router.py)
    with warnings.catch_warnings():  # aiohttp deprecates passing a router; it is the only way to give one
        warnings.simplefilter("ignore", DeprecationWarning)
        app = web.Application(router=router, client_max_size=core.options.max_body)  # --max-body: 413
    sockets = core.sockets
    guard = AdminGuard(core.options.admin_token, core.logger)
    cors = CorsPolicy(core.options.cors_origins)
    add_system_routes(app, guard, core.options.max_body, core.traces, core.bus_or_fail, core.state)
    add_step_routes(app, guard, core.project_dir, lambda: core.registry, core.runner_status)
    add_trace_routes(app, guard, core.trace_storage)
    add_dlq_routes(app, guard, core.queue)
    # observability (docs/observability.md): each module gets only the pieces it reads
    if core.log_storage is not None:
        add_log_routes(app, guard, core.log_storage)
    add_live_route(app, guard, core.live)
    add_queue_routes(app, guard, core.queue, core.subscriptions)
    add_cron_routes(
        app, guard, lambda: core.registry.by_type(StepType.CRON), core.cron_history, core.invoke, core.traces
    )
    add_state_routes(app, guard, core.state)
    add_login_routes(app, guard)
    add_metrics_route(app, guard, core.metrics)
    if sockets is not None:
        add_stream_routes(app, core, sockets, guard)
        sockets.allowed_origins = None if cors.any else cors.origins
        app.on_shutdown.append(lambda _: sockets.close_all())
    if core.options.workbench_path is not None:  # before the API steps: add_workbench refuses overlaps
        add_workbench(app, guard, core.options.workbench_path, core.registry.by_type(StepType.API), core.logger)
    # API steps follow the live registry (a reload swaps them, http/live_routes.py); a WebSocket upgrade
    # on any path still goes to the stream server first
    fallback = LiveApiRoutes(core, cors, core.registries).wrap(_fallback(cors, guard), sockets)
    router.add_catch_all(fallback)  # last: only what nothing else matched
    return app
