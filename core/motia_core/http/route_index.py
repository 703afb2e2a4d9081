"""API routes with path parameters, matched segment by segment.

aiohttp's UrlDispatcher tries, in turn, every route that shares a literal prefix with the request:
with 500 routes under `/items/...` a request paid ~3 ms of regex attempts (bench/README.md,
"API throughput against the number of routes"). Here the routes form a tree of path segments, so a
request costs one dict lookup per segment whatever the number of routes. Routes whose segments are
not plain (a literal outside the unreserved URL characters, or a parameter mixed with text such as
`file.{ext}`) stay in an aiohttp router the index consults last, so nothing aiohttp accepts is lost.

Precedence where two routes match one path: a literal segment wins over a parameter at the same
position (so `/users/{id}/posts` beats `/users/{id}/{tab}` for `/users/7/posts`); aiohttp would pick
whichever was registered first among routes with the same literal prefix. Among routes of the same
shape, the first registered wins, as in aiohttp. A path that matches a route only for other methods
is reported as no match, as aiohttp's 405 is (the caller answers it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web

from motia_core.http.common import Handler

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLAIN_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]*")  # compared as-is with the request's path_safe


@dataclass
class _Leaf:
    handler: Handler
    names: tuple[tuple[int, str], ...]  # (segment index, parameter name)


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    routes: dict[str, _Leaf] = field(default_factory=dict)  # by method


class RouteIndex:
    """Parameterised routes; `add` while building, `match` per request (no mutation after build)."""

    def __init__(self) -> None:
        self._root = _Node()
        self._rest = web.UrlDispatcher()  # the routes the tree cannot express
        self._has_rest = False

    def add(self, method: str, path: str, handler: Handler) -> None:
        """`path` in aiohttp's syntax ('/users/{id}'); the same routes aiohttp's add_route accepts."""
        segments = path.split("/")
        names: list[tuple[int, str]] = []
        shape: list[str | None] = []  # a literal, or None for a parameter
        for index, segment in enumerate(segments):
            param = _PARAM.fullmatch(segment)
            if param is not None:
                names.append((index, param.group(1)))
                shape.append(None)
            elif "{" not in segment and "}" not in segment and _PLAIN_LITERAL.fullmatch(segment):
                shape.append(segment)
            else:
                self._rest.add_route(method, path, handler)
                self._has_rest = True
                return
        node = self._root
        for part in shape:
            if part is None:
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literal.setdefault(part, _Node())
        node.routes.setdefault(method, _Leaf(handler, tuple(names)))  # the first registered wins

    async def match(self, request: web.Request) -> tuple[Handler, dict[str, str]] | None:
        """The handler and its path parameters (decoded as aiohttp decodes them), or None."""
        segments = request.rel_url.path_safe.split("/")
        for node in _walk(self._root, segments, 0):
            leaf = node.routes.get(request.method)
            if leaf is not None:
                return leaf.handler, {name: _unquote(segments[i]) for i, name in leaf.names}
        if self._has_rest:
            found = await self._rest.resolve(request)
            if found.http_exception is None:
                return found.handler, dict(found)
        return None


def _walk(node: _Node, segments: list[str], index: int) -> Iterator[_Node]:
    """The nodes whose route shape matches `segments`, literal branches first."""
    if index == len(segments):
        if node.routes:
            yield node
        return
    segment = segments[index]
    child = node.literal.get(segment)
    if child is not None:
        yield from _walk(child, segments, index + 1)
    # aiohttp's parameter pattern: one or more characters other than '/', '{' and '}'
    if node.param is not None and segment and "{" not in segment and "}" not in segment:
        yield from _walk(node.param, segments, index + 1)


def _unquote(value: str) -> str:
    """path_safe keeps '%2F' and '%25' encoded inside a segment; aiohttp decodes them in match_info."""
    if "%" not in value:
        return value
    return value.replace("%2F", "/").replace("%25", "%")
