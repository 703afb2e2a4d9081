"""What `serve` (and the commands that build a core without serving) tell MotiaCore: CoreOptions.

Each field names the flag or the doc it comes from; the defaults are `motia-core serve`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from motia_core.logstore import LogRetention


@dataclass
class CoreOptions:
    host: str = "0.0.0.0"
    port: int = 3000
    strict: bool = False
    runner_slots: int = 1024
    retry_base_delay: float = 1.0
    ready_timeout: float = 10.0
    admission_timeout: float = 10.0
    # hardening (docs/security.md, docs/delivery.md)
    admin_token: str | None = None  # None: the admin surface answers loopback only
    cors_origins: tuple[str, ...] = ("*",)  # origins API steps (and the stream WebSocket) allow
    max_body: int = 16 * 1024 * 1024  # bytes; larger request bodies get 413 before any runner sees them
    api_timeout: float = 30.0  # seconds; default handler timeout of API steps (504 after it)
    shutdown_timeout: float = 10.0  # seconds SIGTERM may take in all, whatever the runners do
    workbench_path: str | None = "/__workbench"  # where the Workbench is served; None: --no-workbench
    # storage (docs/adapters.md): the embedded SQLite under .motia/ unless a Redis URL or a backend is named
    backend: str | None = None  # a name from motia_core.backends (sqlite, redis, or an entry point's)
    redis_url: str | None = None  # --redis / MOTIA_REDIS_URL: queue, state, streams and cron on Redis
    redis_prefix: str | None = None  # --redis-prefix: namespace of every key (default: the folder's name)
    # observability (docs/observability.md): log lines kept for /__motia/logs, span events; --no-record: neither
    record: bool = True
    log_retention: LogRetention = field(default_factory=LogRetention)
