"""Cron steps: croniter schedules (5 fields, or 6 with seconds first as node-cron reads them).
Each tick starts a new trace; a tick whose previous run is still going is not skipped (Motia runs
them concurrently too); failures are logged, never retried.

Several instances (a ``CronLock``, cron_lock.py): before a tick's handler runs, the instance claims
the tick (step id, scheduled time) cluster-wide; the one that wins runs it with a fencing token in
its log line, the others skip it (debug log). A lock that cannot be reached skips the tick with a
warning: a missed tick is preferred to one run by every instance."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime

from croniter import croniter

from motia_core.cron_lock import CronLock
from motia_core.dispatch import Invoke, InvokeRequest
from motia_core.errors import RunnerError
from motia_core.logs import Logger
from motia_core.runners.transport import Trigger
from motia_core.steps import Step
from motia_core.tracing import TraceStore, new_trace_id


class CronScheduler:
    def __init__(
        self, steps: list[Step], invoke: Invoke, traces: TraceStore, logger: Logger, lock: CronLock | None = None
    ) -> None:
        self._steps = steps
        self._lock = lock
        self.ran = 0  # ticks this instance ran
        self.skipped = 0  # ticks another instance had (or the lock could not be reached)
        self._invoke = invoke
        self._traces = traces
        self._logger = logger
        self._tasks: list[asyncio.Task[None]] = []
        self._runs: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        for step in self._steps:
            self._tasks.append(asyncio.create_task(self._schedule(step), name=f"cron-{step.name}"))

    async def _schedule(self, step: Step) -> None:
        six = len(step.cron.split()) == 6
        schedule = croniter(step.cron, datetime.now().astimezone(), second_at_beginning=six)
        while True:
            due = schedule.get_next(float)
            await asyncio.sleep(max(0.0, due - time.time()))
            run = asyncio.create_task(self._tick(step, round(due * 1000)))
            self._runs.add(run)
            run.add_done_callback(self._runs.discard)

    async def _tick(self, step: Step, tick: int) -> None:
        trace_id = new_trace_id()
        if self._lock is not None:
            try:
                token = await self._lock.acquire(step.id, tick)
            except Exception as exc:  # Redis down or failing: the tick is not run here, nor twice
                self.skipped += 1
                self._logger.warn(
                    f"cron {step.name}: skipping the tick at {tick} ms: its lock is unreachable ({exc})",
                    step=step.name,
                )
                return
            if token is None:
                self.skipped += 1
                self._logger.debug(f"cron {step.name}: tick {tick} runs on another instance", step=step.name)
                return
            self._logger.debug(
                f"cron {step.name}: tick {tick} runs here (fencing token {token})",
                step=step.name,
                trace_id=trace_id,
                cron_tick=tick,
                fencing_token=token,
            )
        self.ran += 1
        self._traces.begin(trace_id, step.name)
        with contextlib.suppress(RunnerError):  # already logged by the failure layer
            await self._invoke(InvokeRequest(step, Trigger.CRON, b"", trace_id))

    async def stop(self) -> None:
        for task in [*self._tasks, *self._runs]:
            task.cancel()
        for task in [*self._tasks, *self._runs]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
