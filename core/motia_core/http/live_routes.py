"""API step routes that follow the live registry (registry.LiveRegistry).

aiohttp's router is frozen once the app starts, so API steps are not added to it: its catch-all
route asks this table, which is rebuilt (a dict and a segment tree) on every registry swap and replaced
in one assignment. A request resolves against one table from start to end; a reload never shows a
half-built one. Built-in and admin routes stay in aiohttp's router and match first, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from motia_core.http.api import PATH_PARAMS, aiohttp_path, api_handler
from motia_core.http.common import CorsPolicy, Handler
from motia_core.http.metrics import counted
from motia_core.http.route_index import RouteIndex
from motia_core.registry import LiveRegistry, Registry
from motia_core.steps import StepType

if TYPE_CHECKING:
    from motia_core.http.served import ServedCore
    from motia_core.streams.ws import StreamSocketServer


@dataclass(frozen=True)
class RouteTable:
    """What one registry serves. Built once and never changed after it is swapped in."""

    static: dict[tuple[str, str], Handler]  # (method, path) of paths without parameters: a dict lookup
    dynamic: RouteIndex  # the paths with parameters: a segment tree (http/route_index.py)


class LiveApiRoutes:
    """The catch-all's table of API step routes, rebuilt by build_table() on every registry swap.

    A subclass may override build_table() to add routes beside the steps' (the bench's floor
    routes, bench/benchlib/floor_server.py): they are served exactly like a step's route.
    """

    def __init__(self, core: ServedCore, cors: CorsPolicy, live: LiveRegistry) -> None:
        self._core = core
        self._cors = cors
        self._table = self.build_table(live.current)
        live.on_swap(lambda _old, new: self._swap(new))

    @property
    def core(self) -> ServedCore:
        """The core the routes dispatch to (for build_table overrides)."""
        return self._core

    def _swap(self, registry: Registry) -> None:
        self._table = self.build_table(registry)  # one assignment: a request sees the old table or the new

    def build_table(self, registry: Registry) -> RouteTable:
        """The routes of `registry`'s API steps; called in the constructor and on every swap."""
        core = self._core
        table = RouteTable({}, RouteIndex())
        for step in registry.by_type(StepType.API):
            validator = registry.body_validators.get(step.id)
            handler = api_handler(step, validator, core.invoke, core.traces, core.logger)
            if not self._cors.any:  # the default '*' costs nothing per request
                handler = self._cors.wrap(handler)
            handler = counted(handler, step.name, core.metrics.count_response)  # /metrics: by status code
            path = aiohttp_path(step.path)
            if "{" not in path:
                table.static[(step.method, path)] = handler
                continue
            # registry.py dry-ran every route on a scratch router: this cannot raise for a served step
            table.dynamic.add(step.method, path, handler)
        return table

    def wrap(self, fallback: Handler, sockets: StreamSocketServer | None = None) -> Handler:
        """The catch-all's handler: a WebSocket upgrade on any path to `sockets` (Motia's clients use
        any path), else an API step when one matches, else `fallback` (404, preflight). The upgrade
        check lives here rather than in a handler around this one: a coroutine less per request."""
        is_upgrade = sockets.is_upgrade if sockets is not None else None

        async def handle(request: web.Request) -> web.StreamResponse:
            if is_upgrade is not None and is_upgrade(request):
                assert sockets is not None
                return await sockets.handle(request)
            table = self._table
            # path_safe: what aiohttp's own router matches on (percent-decoded, '/' kept encoded)
            static = table.static.get((request.method, request.rel_url.path_safe))
            if static is not None:
                request[PATH_PARAMS] = {}  # not the catch-all's {"tail": ...}
                return await static(request)
            match = await table.dynamic.match(request)
            if match is None:  # no step here (404), or not for this method (405)
                return await fallback(request)
            handler, params = match
            request[PATH_PARAMS] = params
            return await handler(request)

        return handle
