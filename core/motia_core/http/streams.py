"""Stream introspection: /__motia/streams (Motia's Workbench paths, read-only).

These are admin routes (the AdminGuard decides who gets in) AND every read of stream data runs the
same checks as a WebSocket join, so no path returns an item a join would refuse
(docs/security.md#streams-rest): the project's stream auth hook turns the request
(`?authToken=`, headers, url) into an auth context, a hook that throws answers 401 as the
handshake would, and a stream's canAccess decides the group or item read (403 when denied). The
group listing of a stream with canAccess shows only the groups canAccess allows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from multidict import CIMultiDict

from motia_core.http.common import admin_json_response, admin_raw_json
from motia_core.http.guard import AdminGuard
from motia_core.http.system import id_parameter
from motia_core.streams.config import StreamDef
from motia_core.streams.ws import StreamSocketServer

if TYPE_CHECKING:
    from motia_core.http.served import ServedCore

GROUP_CHECKS_IN_FLIGHT = 16  # canAccess calls at once when filtering a group listing
# Admin credentials are for the guard, not for the project's auth hook (which may log its input).
_PRIVATE_HEADERS = (hdrs.AUTHORIZATION, hdrs.COOKIE)


def _denied(stream: str) -> web.Response:
    return admin_json_response(
        403,
        {"error": "Access denied", "code": "STREAM_ACCESS_DENIED", "message": f"{stream}.canAccess refused the read"},
    )


def add_stream_routes(app: web.Application, core: ServedCore, sockets: StreamSocketServer, guard: AdminGuard) -> None:
    hub = core.streams
    access = sockets.access

    def known(name: str) -> StreamDef | web.Response:
        definition = hub.streams.get(name)
        if definition is not None:
            return definition
        return admin_json_response(404, {"error": "Not found", "message": f"stream {name!r} is not declared"})

    async def auth_context(request: web.Request) -> bytes | web.Response:
        """The auth context a WebSocket opened with this request would get (b'null' without a hook)."""
        if access is None or not access.has_auth:
            return b"null"
        headers = CIMultiDict(request.headers)
        for name in _PRIVATE_HEADERS:
            headers.popall(name, None)
        rejected, context = await access.authenticate(request.clone(headers=headers), request.query.get("authToken"))
        return rejected if rejected is not None else context

    async def allowed(definition: StreamDef, group_id: str, item_id: str, context: bytes) -> bool:
        if not definition.can_access or access is None:
            return True
        return await access.can_access(definition, group_id, item_id, context)

    def ids(request: web.Request, *names: str) -> list[str] | web.Response:
        out = []
        for name in names:
            value = id_parameter(name, request.match_info[name])
            if isinstance(value, web.Response):
                return value
            out.append(value or "")
        return out

    async def listing(_: web.Request) -> web.Response:
        streams = [
            {"id": d.id, "name": d.name, "hidden": d.hidden, "filePath": d.file.relative_path, "schema": d.schema}
            for d in hub.streams.values()
        ]
        return admin_json_response(200, {"streams": streams, "sockets": sockets.stats()})

    async def groups(request: web.Request) -> web.Response:
        definition = known(request.match_info["name"])
        if isinstance(definition, web.Response):
            return definition
        context = await auth_context(request)
        if isinstance(context, web.Response):
            return context
        names = await hub.store.groups(definition.name)
        if definition.can_access and access is not None:
            gate = asyncio.Semaphore(GROUP_CHECKS_IN_FLIGHT)

            async def check(group_id: str) -> bool:
                async with gate:
                    return await allowed(definition, group_id, "", context)

            verdicts = await asyncio.gather(*(check(g) for g in names))
            names = [g for g, ok in zip(names, verdicts, strict=True) if ok]
        return admin_json_response(200, {"groups": names})

    async def read(request: web.Request, *id_names: str) -> web.Response:
        definition = known(request.match_info["name"])
        if isinstance(definition, web.Response):
            return definition
        found = ids(request, *id_names)
        if isinstance(found, web.Response):
            return found
        group_id, item_id = found[0], found[1] if len(found) > 1 else ""
        context = await auth_context(request)
        if isinstance(context, web.Response):
            return context
        if not await allowed(definition, group_id, item_id, context):
            return _denied(definition.name)
        if item_id:
            return admin_raw_json(await hub.get(definition.name, group_id, item_id))
        return admin_raw_json(await hub.get_group(definition.name, group_id))

    async def group(request: web.Request) -> web.Response:
        return await read(request, "group")

    async def item(request: web.Request) -> web.Response:
        return await read(request, "group", "id")

    app.router.add_get("/__motia/streams/list", guard.wrap(listing))
    app.router.add_get("/__motia/streams/groups/{name}", guard.wrap(groups))
    app.router.add_get("/__motia/streams/group/{name}/{group}", guard.wrap(group))
    app.router.add_get("/__motia/streams/item/{name}/{group}/{id}", guard.wrap(item))
