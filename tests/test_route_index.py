"""http/route_index.py: parameterised API routes in a segment tree agree with aiohttp's router."""

from __future__ import annotations

import asyncio
import random

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from motia_core.http.common import Handler
from motia_core.http.route_index import RouteIndex


def _handler(name: str) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(text=name)

    handle.__name__ = name
    return handle


ROUTES = [
    ("GET", "/users/{id}"),
    ("POST", "/users/{id}"),
    ("GET", "/users/{id}/posts/{post}"),
    ("GET", "/orgs/{org}/repos/{repo}/issues"),
    ("DELETE", "/orgs/{org}/repos/{repo}"),
    ("GET", "/files/{name}.{ext}"),  # a parameter mixed with text: kept in aiohttp's router
    ("GET", "/{tenant}/health"),
    ("PUT", "/caf%C3%A9/{id}"),  # a literal outside the plain characters: aiohttp's router too
]

PATHS = [
    "/users/7",
    "/users/a%2Fb",  # an encoded slash stays in the parameter, decoded as aiohttp decodes it
    "/users/100%25",
    "/users/",
    "/users/7/",
    "/users/7/posts/9",
    "/users/7/posts",
    "/orgs/o/repos/r/issues",
    "/orgs/o/repos/r",
    "/files/report.pdf",
    "/files/report",
    "/acme/health",
    "/health",
    "/café/3",
    "/nothing/here",
    "/",
]


def _both() -> tuple[RouteIndex, web.UrlDispatcher]:
    index, router = RouteIndex(), web.UrlDispatcher()
    for method, path in ROUTES:
        handler = _handler(f"{method} {path}")
        index.add(method, path, handler)
        router.add_route(method, path, handler)
    return index, router


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
def test_every_path_resolves_as_aiohttp_resolves_it(method: str) -> None:
    index, router = _both()

    async def compare() -> None:
        for path in PATHS:
            request = make_mocked_request(method, path)
            ours = await index.match(request)
            theirs = await router.resolve(request)
            if theirs.http_exception is not None:
                assert ours is None, (method, path, ours)
                continue
            assert ours is not None, (method, path, theirs.handler.__name__)
            handler, params = ours
            assert handler is theirs.handler, (method, path)
            assert params == dict(theirs), (method, path)

    asyncio.run(compare())


def test_a_literal_segment_wins_over_a_parameter_and_the_first_route_of_a_shape_wins() -> None:
    index = RouteIndex()
    index.add("GET", "/users/{id}/{tab}", _handler("tab"))
    index.add("GET", "/users/{id}/posts", _handler("posts"))
    index.add("GET", "/users/{uid}/{other}", _handler("second"))  # same shape as the first: never chosen

    async def resolve(path: str) -> tuple[str, dict[str, str]] | None:
        found = await index.match(make_mocked_request("GET", path))
        return None if found is None else (found[0].__name__, found[1])

    assert asyncio.run(resolve("/users/7/posts")) == ("posts", {"id": "7"})
    assert asyncio.run(resolve("/users/7/likes")) == ("tab", {"id": "7", "tab": "likes"})


def test_a_method_on_another_branch_is_found_after_the_literal_branch_refuses_it() -> None:
    """aiohttp goes on to the next route when one matches the path but not the method; so do we."""
    index = RouteIndex()
    index.add("POST", "/a/b/{x}", _handler("literal-post"))
    index.add("GET", "/a/{y}/{x}", _handler("param-get"))
    found = asyncio.run(index.match(make_mocked_request("GET", "/a/b/c")))
    assert found is not None
    assert (found[0].__name__, found[1]) == ("param-get", {"y": "b", "x": "c"})
    assert asyncio.run(index.match(make_mocked_request("PUT", "/a/b/c"))) is None


def test_a_thousand_routes_under_one_prefix_each_resolve_to_their_own_handler() -> None:
    """The shape the bench's routes curve found slow on aiohttp's router (one prefix, many routes)."""
    index = RouteIndex()
    names = [f"r{i}" for i in range(1000)]
    for name in names:
        index.add("GET", f"/items/{{id}}/{name}", _handler(name))

    async def check() -> None:
        for name in random.Random(7).sample(names, 50):
            found = await index.match(make_mocked_request("GET", f"/items/42/{name}"))
            assert found is not None and found[0].__name__ == name and found[1] == {"id": "42"}
        assert await index.match(make_mocked_request("GET", "/items/42/r1000")) is None

    asyncio.run(check())
