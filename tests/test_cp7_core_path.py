"""Core per request, third pass (docs/performance.md): API step responses are counted by a wrapper
around each step's route instead of an aiohttp response-prepare signal, and the catch-all checks
for a WebSocket upgrade itself instead of through one more handler around it."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from motia_core.http.metrics import counted
from tests.conftest import CoreProcess, copy_fixture
from tests.stream_client.harness import WsClient


async def test_counted_counts_every_response_by_the_status_the_client_gets() -> None:
    counts: dict[tuple[str, str, int], int] = {}

    def count(step: str, method: str, status: int) -> None:
        counts[(step, method, status)] = counts.get((step, method, status), 0) + 1

    async def created(_: web.Request) -> web.StreamResponse:
        return web.Response(status=201, text="made")

    async def too_large(_: web.Request) -> web.StreamResponse:
        raise web.HTTPRequestEntityTooLarge(max_size=1, actual_size=2)

    async def broken(_: web.Request) -> web.StreamResponse:
        raise RuntimeError("a bug in a handler")

    app = web.Application()
    app.router.add_route("*", "/made", counted(created, "Made", count))
    app.router.add_get("/large", counted(too_large, "Large", count))
    app.router.add_get("/broken", counted(broken, "Broken", count))
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        seen = []
        for method, path in (
            ("GET", "/made"),
            ("POST", "/made"),
            ("GET", "/made"),
            ("GET", "/large"),
            ("GET", "/broken"),
        ):
            async with http.request(method, str(server.make_url(path))) as resp:
                await resp.read()
                seen.append(resp.status)
    assert seen == [201, 201, 201, 413, 500]
    assert counts == {
        ("Made", "GET", 201): 2,
        ("Made", "POST", 201): 1,
        ("Large", "GET", 413): 1,
        ("Broken", "GET", 500): 1,
    }
    assert not app.on_response_prepare  # no per-response signal is left for aiohttp to send


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("streams", tmp_path_factory.mktemp("cp7-streams"))
    proc = CoreProcess(project)
    proc.wait_ready()
    yield proc
    proc.stop()


async def test_a_websocket_upgrade_on_an_api_steps_path_reaches_the_stream_server(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{core.url}/hello") as resp:
            assert resp.status == 200  # a plain GET of the same path is the step's
    for path in ("/hello", "/no/such/route", "/"):
        client = await WsClient.connect(core.url, path)
        try:
            assert (await client.join_synced("todo", "open"))["event"]["type"] == "sync"
        finally:
            await client.close()
