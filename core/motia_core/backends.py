"""Where the core keeps its queue, state and stream items: one factory builds them from a backend name
(docs/adapters.md).

Built in:
- ``sqlite`` (the default): SQLite databases under the project's .motia/ (0700, files 0600), one process.
- ``redis``: everything on one Redis (``--redis URL``, keys under ``--redis-prefix``), so many
  ``motia-core serve`` instances act as one system.

Third parties add a backend through the Python entry point group ``motia_core.backends``: the entry
point's name is the backend name, its object a callable ``(BackendOptions) -> Backends``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motia_core.entry_scan import entry_points_of
from motia_core.errors import ProjectError
from motia_core.logs import Logger
from motia_core.logstore import LogRetention, LogStorage
from motia_core.queue.base import EventQueue
from motia_core.state.base import StateStore
from motia_core.streams.hub import StreamBus
from motia_core.streams.store import StreamStore
from motia_core.tracing_storage import TraceStorage

if TYPE_CHECKING:  # cron_lock imports redis: only the redis backend loads it
    from motia_core.cron_lock import CronLock

ENTRY_POINT_GROUP = "motia_core.backends"
DEFAULT_BACKEND = "sqlite"


@dataclass
class BackendOptions:
    """What a backend factory gets. `url` and `prefix` are `--redis` and `--redis-prefix` (or the
    MOTIA_REDIS_URL environment variable); a third-party backend may read them as its own."""

    project_dir: Path
    logger: Logger
    url: str | None = None
    prefix: str | None = None
    log_retention: LogRetention = field(default_factory=LogRetention)  # --log-retention-lines/-days


@dataclass
class Backends:
    """The storage of one core. `stream_bus`, `cron_lock` and `traces` are the cross-instance pieces:
    None for a single-process backend (the hub publishes locally, every cron tick runs here, traces
    are served from this process's memory)."""

    name: str
    queue: EventQueue
    state: StateStore
    stream_store: StreamStore
    stream_bus: StreamBus | None = None
    cron_lock: CronLock | None = None
    traces: TraceStorage | None = None
    # where GET /__motia/logs reads (logstore.py); None: the core keeps them in .motia/logs.db
    logs: LogStorage | None = None
    # run once before the core uses the stores (e.g. check the server answers), and once after
    # queue, state and stream store are closed (e.g. close a connection pool they share)
    on_open: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def open(self) -> None:
        for hook in self.on_open:
            await hook()

    async def close(self) -> None:
        for hook in self.on_close:
            with contextlib.suppress(Exception):  # closing must not hide why the core stopped
                await hook()


Factory = Callable[[BackendOptions], Backends]


def backend_name(url: str | None, name: str | None = None) -> str:
    """The backend to build: the one named, else `redis` when a Redis URL is given, else sqlite."""
    if name:
        return name
    return "redis" if url else DEFAULT_BACKEND


def build_backends(name: str, options: BackendOptions) -> Backends:
    factory = _known().get(name)
    if factory is None:
        known = ", ".join(sorted(_known()))
        raise ProjectError(
            f"unknown storage backend {name!r}: known backends are {known} "
            f"(others register through the Python entry point group {ENTRY_POINT_GROUP!r})"
        )
    backends = factory(options)
    if not isinstance(backends, Backends):
        raise ProjectError(
            f"storage backend {name!r} returned {type(backends).__name__}, not motia_core.backends.Backends"
        )
    return backends


def _known() -> dict[str, Any]:
    found: dict[str, Any] = {"sqlite": sqlite, "redis": redis}
    for ep in entry_points_of(ENTRY_POINT_GROUP):  # entry_scan: no importlib.metadata import in the common layout
        if ep.name not in found:  # the built-in names cannot be taken over
            found[ep.name] = _Lazy(ep.name, ep.load)
    return found


class _Lazy:
    """An entry point loaded only when its backend is asked for: a broken plugin that is not used
    never stops the core."""

    def __init__(self, name: str, load: Callable[[], Any]) -> None:
        self._name = name
        self._load = load

    def __call__(self, options: BackendOptions) -> Backends:
        try:
            factory = self._load()
        except Exception as exc:
            raise ProjectError(f"storage backend {self._name!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
        result = factory(options)
        if not isinstance(result, Backends):
            raise ProjectError(f"storage backend {self._name!r} returned {type(result).__name__}, not Backends")
        return result


def sqlite(options: BackendOptions) -> Backends:
    """The embedded default: .motia/queue.db and .motia/state.db (state and stream items)."""
    from motia_core.project import motia_dir
    from motia_core.queue.sqlite import SqliteQueue
    from motia_core.state.sqlite import SqliteStateStore
    from motia_core.streams.store import SqliteStreamStore

    logger = options.logger
    if options.prefix:
        logger.warn(f"--redis-prefix {options.prefix} is ignored: the sqlite backend keeps everything under .motia/")
    private = motia_dir(options.project_dir, logger)  # 0700, databases 0600 (docs/delivery.md#storage-faults)
    state = SqliteStateStore(private / "state.db", logger)
    stream_store = SqliteStreamStore(private / "state.db", logger)
    queue = SqliteQueue(private / "queue.db", logger)
    return Backends("sqlite", queue, state, stream_store)


def redis(options: BackendOptions) -> Backends:
    """Queue, state, stream items, stream fan-out, cron locks and traces on one Redis (docs/adapters.md#redis)."""
    from motia_core import redis_conn
    from motia_core.cron_lock import RedisCronLock
    from motia_core.logstore_redis import RedisLogStorage
    from motia_core.queue.redis import RedisQueue
    from motia_core.state.redis import RedisStateStore
    from motia_core.streams.redis_bus import RedisStreamBus
    from motia_core.streams.store_redis import RedisStreamStore
    from motia_core.tracing_redis import RedisTraceStorage

    if not options.url:
        raise ProjectError("the redis backend needs a URL: --redis redis://HOST:6379/0 (or MOTIA_REDIS_URL)")
    url = options.url
    prefix = (
        redis_conn.validate_prefix(options.prefix)
        if options.prefix
        else redis_conn.default_prefix(options.project_dir.resolve().name)
    )
    client = redis_conn.connect(url)
    logger = options.logger
    backends = Backends(
        "redis",
        RedisQueue(client, prefix, logger),
        RedisStateStore(client, prefix, logger, url),
        RedisStreamStore(client, prefix, logger, url),
        stream_bus=RedisStreamBus(client, prefix, logger),
        cron_lock=RedisCronLock(client, prefix),
        traces=RedisTraceStorage(client, prefix, url),
        logs=RedisLogStorage(client, prefix, url, options.log_retention),
    )

    async def check() -> None:
        await redis_conn.check(client, url)
        logger.info(f"storage: Redis at {redis_conn.mask(url)}, keys prefixed {{{prefix}:...}}")

    backends.on_open.append(check)
    backends.on_close.append(client.aclose)
    return backends
