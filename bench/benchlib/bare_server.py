"""The limit: the same endpoints as the bench's API steps, answered by a bare aiohttp handler.

Launched like `motia-core serve` (one process, uvloop, access log off, same CPU pinning), so the
difference between the two is what motia-core adds: routing to a step, the trace, one round trip
to a runner over gRPC, and mapping the result.
"""

from __future__ import annotations

import argparse
import asyncio

import orjson
import uvloop
from aiohttp import web

OK = orjson.dumps({"ok": True})


async def noop(_: web.Request) -> web.Response:
    return web.Response(body=OK, content_type="application/json")


async def echo(request: web.Request) -> web.Response:
    # parse and re-encode, as an API step that returns its body does
    body = orjson.loads(await request.read())
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def serve(host: str, port: int) -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/noop/bare", noop)
    app.router.add_post("/echo/bare", echo)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    print(f"bare aiohttp listening on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        uvloop.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
