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
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}  # (step id, cron expression) -> schedule
        self._current: dict[str, Step] = {s.id: s for s in steps}  # what a tick runs: the latest config
        self._started = False
        self._runs: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._started = True
        self.update(self._steps)

    def update(self, steps: list[Step]) -> None:
        """Schedule `steps` from now on (a reload swapped the registry): a removed step or a changed
        expression loses its schedule (a run in progress finishes); a new one gets one; an unchanged
        one keeps its timing and runs the new config at its next tick."""
        self._steps = steps
        self._current = {s.id: s for s in steps}
        if not self._started:
            return
        wanted = {(s.id, s.cron): s for s in steps}
        for key in [k for k in self._tasks if k not in wanted]:
            self._tasks.pop(key).cancel()
        for key, step in wanted.items():
            if key not in self._tasks:
                self._tasks[key] = asyncio.create_task(self._schedule(step), name=f"cron-{step.name}")

    async def _schedule(self, first: Step) -> None:
        from croniter import croniter  # late: ~15 ms of CPU at start, for projects with cron steps only

        six = len(first.cron.split()) == 6
        schedule = croniter(first.cron, datetime.now().astimezone(), second_at_beginning=six)
        while True:
            due = schedule.get_next(float)
            await asyncio.sleep(max(0.0, due - time.time()))
            step = self._current.get(first.id, first)
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
        tasks = [*self._tasks.values(), *self._runs]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
