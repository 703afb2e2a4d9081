"""`motia-core serve` plus three floor routes: the same request path with layers taken away.

    python bench/benchlib/floor_server.py serve --dir PROJECT --port N [any `serve` option]

Runs the real `motia-core serve` (same CLI, options, uvloop, runners, stores) and adds three API
routes to its live route table, so they take exactly the path a step's route takes (aiohttp's
router -> the catch-all -> the WebSocket-upgrade check -> the live table, http/live_routes.py):

* `GET /floor/http`: answered in the route's handler, `{"ok": true}`: the price of the core's HTTP
  layer (aiohttp app, catch-all, live table) without reading a body, tracing or dispatching;
* `GET /floor/api`: the same step's `http/api.py` handler (read and parse the body, begin the trace,
  build the payload, map the result to the response) with an `invoke` that returns the encoded
  result at once: no dispatch layer, no session;
* `GET /floor/dispatch`: the bench's `NoopTs` step (FLOOR_MODEL_PATH names another) served
  through `core.invoke` (every dispatch layer: metrics, failure log, tracing span, the API timeout)
  and `http/api.py` (body, payload, response) to an in-process runner session (runners/fake.py)
  that answers at once with the encoded result the TypeScript runner sends: everything the core
  does except the gRPC stream.

The difference between `/floor/dispatch` and `/noop/ts` is then the price of the real transport
(protobuf, the stream, its writer task, the runner's wake-up) as the core pays it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import orjson
from aiohttp import web

import motia_core.http.app as http_app
from motia_core.dispatch import InvokeRequest
from motia_core.http.api import api_handler
from motia_core.http.live_routes import LiveApiRoutes, RouteTable
from motia_core.project import RunnerName
from motia_core.registry import Registry
from motia_core.runners.fake import FakeContext, FakeSession
from motia_core.runners.http_body import BodyKind, HttpResult
from motia_core.runners.transport import Outcome
from motia_core.steps import StepType

FAKE_RUNTIME = RunnerName("floor-in-process")
# the API step whose config the dispatch floor borrows (its path, flows, timeout; never its runner)
MODEL_PATH = os.environ.get("FLOOR_MODEL_PATH", "/noop/ts")
OK = orjson.dumps({"ok": True})
# what the TypeScript runner sends for `{ status: 200, body: { ok: true } }` (Completed.http_response)
ENCODED = HttpResult(status=200, headers_json=b"", body=OK, body_kind=int(BodyKind.JSON))


async def answer_here(_: web.Request) -> web.StreamResponse:
    return web.Response(body=OK, content_type="application/json")


def answer_encoded(_payload: bytes, _ctx: FakeContext) -> HttpResult:
    return ENCODED


async def invoke_answered(_req: InvokeRequest) -> Outcome:
    return Outcome(http=ENCODED)


class FloorRoutes(LiveApiRoutes):
    """The live table plus the floor routes, rebuilt with it on every registry swap."""

    _fake: FakeSession | None = None

    def build_table(self, registry: Registry) -> RouteTable:
        table = super().build_table(registry)
        core: Any = self.core  # MotiaCore: its calls and session_for are not part of ServedCore
        model = next((s for s in registry.by_type(StepType.API) if s.path == MODEL_PATH), None)
        table.static[("GET", "/floor/http")] = answer_here
        if model is None:
            return table
        step = dataclasses.replace(
            model,
            name="FloorDispatch",
            path="/floor/dispatch",
            file=dataclasses.replace(model.file, runtime=FAKE_RUNTIME, relative_path="floor/dispatch"),
        )
        if self._fake is None:
            self._fake = FakeSession(
                {step.id: answer_encoded}, core.calls, language="typescript", slots=1024, keep_invocations=False
            )
            real = core.session_for
            fake = self._fake

            async def session_for(runtime: RunnerName, timeout: float) -> Any:
                return fake if runtime == FAKE_RUNTIME else await real(runtime, timeout)

            core.session_for = session_for  # RunnerInvoke asks the core for the step's session
        table.static[("GET", "/floor/api")] = api_handler(step, None, invoke_answered, core.traces, core.logger)
        table.static[("GET", "/floor/dispatch")] = api_handler(step, None, core.invoke, core.traces, core.logger)
        return table


def main() -> int:
    http_app.LiveApiRoutes = FloorRoutes  # type: ignore[attr-defined]  # build_app reads the module's name at call time
    from motia_core.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
