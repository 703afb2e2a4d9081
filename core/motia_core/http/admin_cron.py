"""GET /__motia/cron (each cron step: its schedule, next three runs, last outcome) and
POST /__motia/cron/{step}/trigger (run it now, in a new trace) (docs/observability.md#cron).

`CronHistory` is a dispatch layer put around the cron scheduler's invoke (and used by the trigger),
so the last outcome is known without asking the scheduler; dependencies are passed in."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.http.system import id_parameter
from motia_core.runners.transport import Outcome, Trigger
from motia_core.steps import Step
from motia_core.tracing import TraceStore, new_trace_id

NEXT_RUNS = 3


@dataclass
class LastRun:
    time: int  # ms, when it started
    status: str  # running | completed | failed
    trace_id: str

    def as_json(self) -> dict[str, object]:
        return {"time": self.time, "status": self.status, "traceId": self.trace_id}


class CronHistory:
    """The last run of each cron step on this instance (ticks and triggers alike)."""

    def __init__(self) -> None:
        self.last: dict[str, LastRun] = {}  # step id -> its last run
        self._runs: set[asyncio.Task[None]] = set()

    def layer(self, inner: Invoke) -> Invoke:
        async def invoke(req: InvokeRequest) -> Outcome:
            run = self.last[req.step.id] = LastRun(int(time.time() * 1000), "running", req.trace_id)
            try:
                outcome = await inner(req)
            except BaseException:
                run.status = "failed"
                raise
            run.status = "completed" if outcome.failure is None else "failed"
            return outcome

        return invoke

    def trigger(self, step: Step, invoke: Invoke, traces: TraceStore) -> str:
        """Run the step now, as a tick would (a new trace named after it); return the trace id."""
        trace_id = new_trace_id()
        traces.begin(trace_id, step.name)

        async def run() -> None:
            with contextlib.suppress(RunnerError):  # the failure layer logged it
                await self.layer(invoke)(InvokeRequest(step, Trigger.CRON, b"", trace_id))

        task = asyncio.create_task(run(), name=f"cron-trigger-{step.name}")
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        return trace_id

    async def close(self) -> None:
        for task in list(self._runs):
            task.cancel()
        for task in list(self._runs):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def next_runs(expression: str, count: int = NEXT_RUNS) -> list[int]:
    from croniter import croniter  # late: not imported at start by projects without cron steps (cron.py)

    six = len(expression.split()) == 6  # seconds first, as node-cron reads six fields (cron.py)
    schedule = croniter(expression, datetime.now().astimezone(), second_at_beginning=six)
    return [int(schedule.get_next(float) * 1000) for _ in range(count)]


def add_cron_routes(
    app: web.Application,
    guard: AdminGuard,
    steps: Callable[[], list[Step]],
    history: CronHistory,
    invoke: Invoke,
    traces: TraceStore,
) -> None:
    async def jobs(_: web.Request) -> web.Response:
        out = []
        for step in steps():  # the registry of the moment: a reload may have swapped it
            last = history.last.get(step.id)
            out.append(
                {
                    "step": step.name,
                    "id": step.id,
                    "cron": step.cron,
                    "nextRuns": next_runs(step.cron),
                    "last": last.as_json() if last is not None else None,
                }
            )
        return json_response(200, {"jobs": out})

    async def trigger(request: web.Request) -> web.Response:
        name = id_parameter("step", request.match_info["step"])
        if isinstance(name, web.Response):
            return name
        crons = steps()
        step = next((s for s in crons if name in (s.name, s.id)), None)
        if step is None:
            known = ", ".join(s.name for s in crons) or "none"
            return json_response(404, {"error": "Not found", "message": f"no cron step {name!r} (cron steps: {known})"})
        return json_response(200, {"traceId": history.trigger(step, invoke, traces)})

    app.router.add_get("/__motia/cron", guard.wrap(jobs))
    app.router.add_post("/__motia/cron/{step}/trigger", guard.wrap(trigger))
