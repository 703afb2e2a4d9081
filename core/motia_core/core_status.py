"""What the core says about its runners when asked: GET /__motia/runners rows and /metrics samples.

Both read the runner processes of the moment (a reload or a restart replaces them), never a copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from motia_core.events import subscription_key
from motia_core.metrics import CoreMetrics, RunnerSample, Subscription
from motia_core.project import RunnerName
from motia_core.queue.base import EventQueue
from motia_core.registry import LiveRegistry
from motia_core.runner_registry import RunnerSet
from motia_core.runners.supervisor import RunnerProcess

Runners = Callable[[], dict[RunnerName, RunnerProcess]]  # the core's runners, read at call time


def runner_rows(runners: dict[RunnerName, RunnerProcess], declared: RunnerSet) -> list[dict[str, Any]]:
    """One row per runner: its state, process, restarts, load and what it declared (the Workbench)."""
    out = []
    for runtime, proc in runners.items():
        info = proc.session.info if proc.session else None
        decl = declared.runner(runtime)
        out.append(
            {
                "runtime": runtime,
                "state": proc.state.value,
                "pid": proc.process.pid if proc.process else None,
                "restarts": proc.restarts,
                "inFlight": proc.session.in_flight if proc.session else 0,
                "runtimeVersion": info.runtime_version if info else None,
                "slots": info.slots if info else None,
                "steps": len(proc.files),
                "language": info.language if info else runtime,
                # the languages its declaration loads (plugins.py): what the Workbench badges show
                "languages": [lang.name for lang in decl.languages] if decl is not None else [],
                "startedAt": int(proc.started_at * 1000) if proc.started_at else None,
                "uptimeMs": int((time.time() - proc.started_at) * 1000) if proc.started_at else None,
            }
        )
    return out


def watch_metrics(metrics: CoreMetrics, queue: EventQueue, registries: LiveRegistry, runners: Runners) -> None:
    """/metrics reads the queue's stats per subscription and the runners at scrape time."""

    def subscriptions() -> list[Subscription]:  # the registry of the moment (a reload may swap it)
        subscribers = registries.current.subscribers()
        return [Subscription(subscription_key(t, s), t, s.name) for t, steps in subscribers.items() for s in steps]

    def samples() -> list[RunnerSample]:
        return [
            RunnerSample(rt, p.state.value, p.restarts, p.session.in_flight if p.session else 0)
            for rt, p in runners().items()
        ]

    metrics.watch(queue, subscriptions, samples)
