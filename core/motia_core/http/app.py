"""The aiohttp application: API step routes, built-in routes, CORS as Motia sends it, JSON 404s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from motia_core.http.api import Handler, aiohttp_path, api_handler, json_response
from motia_core.http.system import add_system_routes
from motia_core.steps import StepType

if TYPE_CHECKING:
    from motia_core.app import MotiaCore

MAX_BODY_BYTES = 64 * 1024 * 1024

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "600",
}


@web.middleware
async def cors_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        return web.Response(status=204, headers=CORS_HEADERS)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404:
            response = json_response(
                404, {"error": "Not found", "message": f"no route for {request.method} {request.path}"}
            )
        elif exc.status == 405:
            response = json_response(
                405, {"error": "Method not allowed", "message": f"{request.method} {request.path}"}
            )
        elif exc.status == 413:
            response = json_response(413, {"error": "Payload too large", "message": exc.text or ""})
        else:
            raise
    response.headers.update(CORS_HEADERS)
    return response


def build_app(core: MotiaCore) -> web.Application:
    app = web.Application(middlewares=[cors_and_errors], client_max_size=MAX_BODY_BYTES)
    add_system_routes(app, core)
    for step in core.registry.by_type(StepType.API):
        handler = api_handler(step, core.registry.body_validators.get(step.id), core.invoke, core.traces, core.logger)
        app.router.add_route(step.method, aiohttp_path(step.path), handler, name=None)
    return app
