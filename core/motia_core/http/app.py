"""The aiohttp application: API step routes, built-in routes, the stream WebSocket (any path),
JSON 404s and CORS preflight."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from motia_core.http.api import aiohttp_path, api_handler
from motia_core.http.common import CORS_HEADERS, Handler, json_response
from motia_core.http.streams import add_stream_routes
from motia_core.http.system import add_system_routes
from motia_core.steps import StepType
from motia_core.streams.ws import StreamSocketServer

if TYPE_CHECKING:
    from motia_core.app import MotiaCore

MAX_BODY_BYTES = 64 * 1024 * 1024


async def _fallback(request: web.Request) -> web.Response:
    """Whatever no route matched: CORS preflight (204, as Motia answers OPTIONS) or a JSON 404."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=CORS_HEADERS)
    return json_response(404, {"error": "Not found", "message": f"no route for {request.method} {request.path}"})


def _upgrading(sockets: StreamSocketServer, handler: Handler) -> Handler:
    """A GET route that hands WebSocket upgrades to the stream server (Motia's clients use any path)."""
    is_upgrade = sockets.is_upgrade

    async def handle(request: web.Request) -> web.StreamResponse:
        if is_upgrade(request):
            return await sockets.handle(request)
        return await handler(request)

    return handle


def build_app(core: MotiaCore) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    sockets = core.sockets
    add_system_routes(app, core)
    if sockets is not None:
        add_stream_routes(app, core, sockets)
        app.on_shutdown.append(lambda _: sockets.close_all())
    for step in core.registry.by_type(StepType.API):
        handler = api_handler(step, core.registry.body_validators.get(step.id), core.invoke, core.traces, core.logger)
        if step.method == "GET" and sockets is not None:
            handler = _upgrading(sockets, handler)
        app.router.add_route(step.method, aiohttp_path(step.path), handler)
    fallback = _upgrading(sockets, _fallback) if sockets is not None else _fallback
    app.router.add_route("*", "/{tail:.*}", fallback)  # last: only what nothing else matched
    return app
