"""The aiohttp application: API step routes, built-in routes, JSON 404s and CORS preflight."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from motia_core.http.api import CORS_HEADERS, aiohttp_path, api_handler, json_response
from motia_core.http.system import add_system_routes
from motia_core.steps import StepType

if TYPE_CHECKING:
    from motia_core.app import MotiaCore

MAX_BODY_BYTES = 64 * 1024 * 1024


async def _fallback(request: web.Request) -> web.Response:
    """Whatever no route matched: CORS preflight (204, as Motia answers OPTIONS) or a JSON 404."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=CORS_HEADERS)
    return json_response(404, {"error": "Not found", "message": f"no route for {request.method} {request.path}"})


def build_app(core: MotiaCore) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_system_routes(app, core)
    for step in core.registry.by_type(StepType.API):
        handler = api_handler(step, core.registry.body_validators.get(step.id), core.invoke, core.traces, core.logger)
        app.router.add_route(step.method, aiohttp_path(step.path), handler)
    app.router.add_route("*", "/{tail:.*}", _fallback)  # last: only what nothing else matched
    return app
