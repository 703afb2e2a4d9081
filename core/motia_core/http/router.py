"""aiohttp's router, with the API steps' catch-all found without walking the resource index.

aiohttp's UrlDispatcher looks a request's path up in its resource index once per path prefix
('/a/b/c', '/a/b', '/a', '/'), then runs the catch-all's regex ('/{tail:.*}') and builds its match
dict: about 6 % of the core's CPU on an API request (docs/performance.md, "Core per request, fifth
pass"). Every route the core registers besides the catch-all lives under a few first segments
('__motia', 'emit', 'metrics', the Workbench's): a request whose first segment is none of them can
only match the catch-all, so `resolve` answers it from one set lookup. Anything else, and any router
this shortcut cannot prove exact for (a route keyed at '/', a domain sub-app), resolves as before.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute, MatchedSubAppResource, UrlMappingMatchInfo

from motia_core.http.common import Handler

CATCH_ALL = "/{tail:.*}"


class CatchAllRouter(web.UrlDispatcher):
    """A UrlDispatcher with one catch-all route (`add_catch_all`, registered last) that resolves in
    O(1) for every path outside the first segments of the other routes."""

    def __init__(self) -> None:
        super().__init__()
        self._catch_all: AbstractRoute | None = None
        # first path segments the other routes live under; None: the shortcut is off (see freeze)
        self._owned: frozenset[str] | None = None

    @property
    def shortcut(self) -> bool:
        """Whether `resolve` answers paths outside the other routes' first segments at once (known
        once frozen)."""
        return self._owned is not None

    def add_catch_all(self, handler: Handler) -> AbstractRoute:
        """Any method on any path nothing else matched; register it after every other route."""
        self._catch_all = self.add_route("*", CATCH_ALL, handler)
        return self._catch_all

    def freeze(self) -> None:
        super().freeze()
        self._owned = self._owned_segments()

    def _owned_segments(self) -> frozenset[str] | None:
        catch_all = self._catch_all
        if catch_all is None:
            return None
        owned: set[str] = set()
        for key, resources in self._resource_index.items():
            if key == "/":  # tried on every path, in registration order: only the catch-all may sit here
                if any(resource is not catch_all.resource for resource in resources):
                    return None
                continue
            owned.add(key[1:].partition("/")[0])
        if any(isinstance(r, MatchedSubAppResource) for r in self._resources):
            return None  # matched on the Host, not the path: aiohttp tries them before the index
        return frozenset(owned)

    async def resolve(self, request: web.Request) -> UrlMappingMatchInfo:
        owned = self._owned
        if owned is not None:
            path = request.rel_url.path_safe
            # '' (a URL aiohttp parsed with no path) is no path at all: aiohttp answers it 404
            if path[1:].partition("/")[0] not in owned and path:
                assert self._catch_all is not None  # _owned is set only with a catch-all
                tail = path[1:]
                # the catch-all's match dict as aiohttp builds it: path_safe, '%2F' and '%25' decoded
                if "%" in tail:
                    tail = tail.replace("%2F", "/").replace("%25", "%")
                return UrlMappingMatchInfo({"tail": tail}, self._catch_all)
        return await super().resolve(request)
