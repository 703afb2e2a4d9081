"""What the HTTP layer reads from the core: the one object http/app.py's build_app takes, declared
here as a Protocol so that no module of http/ imports motia_core.app (MotiaCore satisfies it; mypy
checks that where app.py calls build_app). build_app hands each route module only the pieces it
reads (docs/architecture.md#http); the registry is read through `registry` each time, never kept,
because a reload swaps it (registry.LiveRegistry)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from motia_core.dispatch import Invoke
    from motia_core.events import EventBus
    from motia_core.http.admin_cron import CronHistory
    from motia_core.http.admin_live import LiveFeed
    from motia_core.logs import Logger
    from motia_core.logstore import LogStorage
    from motia_core.metrics import CoreMetrics
    from motia_core.queue.base import EventQueue
    from motia_core.registry import LiveRegistry, Registry
    from motia_core.state.base import StateStore
    from motia_core.streams.hub import StreamHub
    from motia_core.streams.ws import StreamSocketServer
    from motia_core.tracing import TraceStore
    from motia_core.tracing_storage import TraceStorage


class HttpOptions(Protocol):
    @property
    def max_body(self) -> int: ...  # bytes: larger request bodies get 413

    @property
    def admin_token(self) -> str | None: ...

    @property
    def cors_origins(self) -> tuple[str, ...]: ...

    @property
    def workbench_path(self) -> str | None: ...


class ServedCore(Protocol):
    @property
    def project_dir(self) -> Path: ...

    @property
    def logger(self) -> Logger: ...

    @property
    def options(self) -> HttpOptions: ...

    @property
    def traces(self) -> TraceStore: ...  # the live store: entries begin their traces in it

    @property
    def trace_storage(self) -> TraceStorage: ...  # what /__motia/traces reads

    @property
    def state(self) -> StateStore: ...

    @property
    def queue(self) -> EventQueue: ...

    @property
    def streams(self) -> StreamHub: ...

    @property
    def sockets(self) -> StreamSocketServer | None: ...

    @property
    def live(self) -> LiveFeed: ...

    @property
    def log_storage(self) -> LogStorage | None: ...

    @property
    def cron_history(self) -> CronHistory: ...

    @property
    def invoke(self) -> Invoke: ...

    @property
    def metrics(self) -> CoreMetrics: ...

    @property
    def registries(self) -> LiveRegistry: ...

    @property
    def registry(self) -> Registry: ...  # the one served now

    def bus_or_fail(self) -> EventBus: ...

    def runner_status(self) -> list[dict[str, Any]]: ...

    def subscriptions(self) -> dict[str, tuple[str, str]]: ...
