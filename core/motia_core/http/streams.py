"""Stream introspection: /__motia/streams (Motia's Workbench paths, read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from motia_core.http.common import CORS_HEADERS, json_response
from motia_core.streams.ws import StreamSocketServer

if TYPE_CHECKING:
    from motia_core.app import MotiaCore


def _raw_json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json", headers=CORS_HEADERS)


def add_stream_routes(app: web.Application, core: MotiaCore, sockets: StreamSocketServer) -> None:
    hub = core.streams

    def known(name: str) -> web.Response | None:
        if name in hub.streams:
            return None
        return json_response(404, {"error": "Not found", "message": f"stream {name!r} is not declared"})

    async def listing(_: web.Request) -> web.Response:
        streams = [
            {"id": d.id, "name": d.name, "hidden": d.hidden, "filePath": d.file.relative_path, "schema": d.schema}
            for d in hub.streams.values()
        ]
        return json_response(200, {"streams": streams, "sockets": sockets.stats()})

    async def groups(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return known(name) or json_response(200, {"groups": await hub.store.groups(name)})

    async def group(request: web.Request) -> web.Response:
        name, group_id = request.match_info["name"], request.match_info["group"]
        return known(name) or _raw_json(await hub.get_group(name, group_id))

    async def item(request: web.Request) -> web.Response:
        name, group_id, item_id = request.match_info["name"], request.match_info["group"], request.match_info["id"]
        return known(name) or _raw_json(await hub.get(name, group_id, item_id))

    app.router.add_get("/__motia/streams/list", listing)
    app.router.add_get("/__motia/streams/groups/{name}", groups)
    app.router.add_get("/__motia/streams/group/{name}/{group}", group)
    app.router.add_get("/__motia/streams/item/{name}/{group}/{id}", item)
