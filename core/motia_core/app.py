"""MotiaCore: wires discovery, runners, registry, state, queue, HTTP and cron into one process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from motia_core import project_config
from motia_core.backends import BackendOptions, backend_name, build_backends
from motia_core.calls import CoreCalls
from motia_core.coldstart import EarlyStart, launch_runners
from motia_core.core_logs import close_logs, open_logs
from motia_core.core_options import CoreOptions
from motia_core.core_report import report_config, report_load, report_swap
from motia_core.core_status import runner_rows, watch_metrics
from motia_core.cron import CronScheduler
from motia_core.dispatch import Invoke, RunnerInvoke, compose, failure_log_layer, tracing_layer
from motia_core.errors import ConfigIssue, ProjectError, RunnerUnavailable
from motia_core.events import EventBus, subscription_key
from motia_core.http.admin_cron import CronHistory
from motia_core.http.admin_live import LiveFeed
from motia_core.http.live_state import StateNotices
from motia_core.logs import Logger
from motia_core.logstore import LogRecorder, LogStorage
from motia_core.metrics import CoreMetrics
from motia_core.project import Discovery, FileKind, RunnerName, StepFile
from motia_core.registry import LiveRegistry, Registry, RuntimeLoad, build_registry
from motia_core.runner_registry import RunnerSet, installed_runners
from motia_core.runners.grpc_server import GrpcRunnerServer
from motia_core.runners.grpc_session import GrpcSession
from motia_core.runners.launch import RunnerLauncher
from motia_core.runners.supervisor import RunnerProcess
from motia_core.runners.transport import Manifest
from motia_core.state.observed import ObservedState
from motia_core.steps import StepType
from motia_core.streams.access import StreamAccess
from motia_core.streams.hub import StreamHub
from motia_core.streams.ws import StreamSocketServer
from motia_core.tracing import TraceListeners, TraceStore
from motia_core.tracing_recorder import TraceRecorder
from motia_core.tracing_storage import MemoryTraceStorage, TraceStorage

if TYPE_CHECKING:
    from motia_core.otel import OtelExport

__all__ = ["CoreOptions", "MotiaCore"]  # CoreOptions lives in core_options.py; `serve` imports both from here

OTEL_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")  # otel.py exports
HTTP_DRAIN_SHARE = 0.3  # of --shutdown-timeout, for API calls in flight; the runners get the rest
CLOSE_MARGIN = 1.0  # seconds of --shutdown-timeout kept for the final kill and closing the stores
TRACE_FLUSH_WAIT = 0.5  # of CLOSE_MARGIN: the last spans' flush to a shared trace storage
OTEL_FLUSH_WAIT = 0.4  # of CLOSE_MARGIN: the last spans' export to an OpenTelemetry collector


class MotiaCore:
    def __init__(
        self, project_dir: Path, logger: Logger, options: CoreOptions | None = None, early: EarlyStart | None = None
    ) -> None:
        self.project_dir = project_dir.resolve()
        if not self.project_dir.is_dir():
            raise ProjectError(f"project folder {project_dir} does not exist")
        self.logger = logger
        self.options = options or CoreOptions()
        # the registry HTTP, events and cron read through; a reload or a runner's restart swaps it whole
        self.registries = LiveRegistry()
        self.loads: dict[str, RuntimeLoad] = {}  # each runner's last manifest, by runtime (registry.py)
        # files no runner could take (no node, a failed prepare, runner never started), by runner
        self._load_issues: dict[RunnerName, list[ConfigIssue]] = {}
        self.traces = TraceStore()
        self.discovery: Discovery = Discovery([], [])
        opts = self.options
        # runners `serve` started before this core was imported (coldstart.py): adopted, not started again
        self._early = early
        # motia.config.ts / .js first: its `redis` key chooses the backend (project_config.py)
        if early is not None:
            self.project_config = early.project_config
        else:
            self.project_config = project_config.read(self.project_dir, project_config.node_command)
        redis_url, storage_lines = project_config.storage(self.project_config, opts.redis_url, opts.backend)
        report_config(self.project_config, storage_lines, logger)
        # which runner loads which file: installed entry points + the config's `runners` (runner_registry.py)
        self.runners: RunnerSet = (
            early.runners if early is not None else installed_runners(self.project_dir, self.project_config)
        )
        for note in self.runners.notes:
            logger.info(note)
        self.launcher = (
            early.launcher
            if early is not None
            else RunnerLauncher(self.project_dir, self.runners, logger, strict=opts.strict, slots=opts.runner_slots)
        )
        self._config_auth = False  # streamAuth of the config file is the stream auth hook (load())
        # queue, state and stream items from one factory (backends.py); sqlite keeps .motia/ at 0700
        # and its databases at 0600 (docs/delivery.md#storage-faults)
        self.backends = build_backends(
            backend_name(redis_url, opts.backend),
            BackendOptions(self.project_dir, logger, redis_url, opts.redis_prefix, opts.log_retention),
        )
        self.state = ObservedState(self.backends.state)  # every write told to the live socket (below)
        self.streams = StreamHub(self.backends.stream_store, self.backends.stream_bus, logger)
        # traces: dropped emits, and each call's event on its span (unless --no-record)
        self.calls = CoreCalls(self.state, logger, self.streams, self.traces, record_events=opts.record)
        self.queue = self.backends.queue
        # /__motia/traces reads trace_storage: the live store itself, or a shared one (Redis) that the
        # recorder fills from the live store in batches, off the request path (tracing_recorder.py)
        shared_traces = self.backends.traces
        self.trace_storage: TraceStorage = MemoryTraceStorage(self.traces) if shared_traces is None else shared_traces
        self._trace_recorder = TraceRecorder(self.traces, shared_traces, logger) if shared_traces is not None else None
        # WS /__motia/live watches the live store next to the recorder, and the other instances'
        # flushes through the shared storage (http/admin_live.py)
        self.live = LiveFeed(self.traces, lambda: self.queue.stats(), logger, shared_traces)
        recorder = self._trace_recorder
        self.traces.listener = self.live if recorder is None else TraceListeners(recorder, self.live)
        self.state.listener = StateNotices(self.live).changed  # the State panel, live (http/live_state.py)
        self.cron_history = CronHistory()  # last outcome of each cron step (GET /__motia/cron)
        self.log_storage: LogStorage | None = None  # opened by start(): `steps` and `dlq` keep no logs
        self._log_recorder: LogRecorder | None = None
        runner_invoke = RunnerInvoke(
            self, self.options.ready_timeout, self.options.admission_timeout, self.options.api_timeout
        )
        # GET /metrics: this core's own registry (metrics.py); OTLP export only when configured (otel.py)
        self.metrics = CoreMetrics()
        self._otel = _otel_export(self.project_dir)
        observe = [self.metrics.layer(), *([self._otel.layer()] if self._otel is not None else [])]
        self.invoke: Invoke = compose([*observe, failure_log_layer(logger), tracing_layer(self.traces)], runner_invoke)
        # stream auth and canAccess checks go straight to the runner: no trace per join (access.py logs)
        self._access_invoke: Invoke = runner_invoke
        self.sockets: StreamSocketServer | None = None
        self._server = GrpcRunnerServer(self.calls, logger, str(self.project_dir)) if early is None else early.server
        self._runners: dict[RunnerName, RunnerProcess] = {}
        if early is not None and early.launch is not None:
            self._runners = early.launch.processes
            self._load_issues = early.launch.load_issues
            self.discovery = early.launch.discovery
            self._config_auth = early.launch.config_auth
        self._bus: EventBus | None = None
        self._cron: CronScheduler | None = None
        self._http: web.AppRunner | None = None
        self.http_port: int | None = None
        if early is not None:  # last: a manifest kept from a restarted runner reconciles a complete core
            early.attach(self.calls, self._on_manifest)

    @property
    def registry(self) -> Registry:
        """The registry served now; never edited after it is swapped in (registry.LiveRegistry)."""
        return self.registries.current

    # -- lifecycle -------------------------------------------------------------------------------

    async def load(self) -> Registry:
        """Discover step files, start one runner per language, validate what they report."""
        started = time.perf_counter()
        # a storage server that does not answer fails here, before any runner starts (unless `serve`
        # started them early, coldstart.py: then stop() ends them)
        await self.backends.open()
        early, self._early = self._early, None
        launch = early.launch if early is not None else None
        if launch is None:
            launch = await launch_runners(
                self.project_dir,
                self.project_config,
                self.runners,
                self.launcher,
                self._server,
                self.logger,
                self._on_manifest,
            )
            self.discovery, self._config_auth = launch.discovery, launch.config_auth
            self._runners, self._load_issues = launch.processes, launch.load_issues
        else:
            started = launch.spawned_at  # "loaded N steps in X ms" counts from the spawn, as before
        await launch.starting
        for runtime, proc in self._runners.items():
            if proc.session is None or proc.session.closed.done():
                self._load_issues[runtime] = [
                    ConfigIssue(f.relative_path, "", f"the {runtime} runner did not start") for f in proc.files
                ]
        self.registries.current = self.build_registry()  # not a swap: nothing reads it yet
        self.streams.streams = self.registry.streams
        report_load(self.registry, time.perf_counter() - started, self.logger)
        return self.registry

    async def start(self) -> None:
        opts = self.options  # the logs first: the start-up lines are kept too (core_logs.py)
        logs = open_logs(
            self.backends.logs, self.project_dir, self.logger, opts.log_retention, opts.record, self.live.logs_recorded
        )
        self.log_storage, self._log_recorder = logs
        await self.load()
        self._bus = EventBus(
            self.registry,
            self.metrics.metered(self.queue),  # retries and dead letters, as the bus decides them
            self.invoke,
            self.logger,
            strict=self.options.strict,
            retry_base_delay=self.options.retry_base_delay,
        )
        self.calls.bus = self._bus
        watch_metrics(self.metrics, self.queue, self.registries, lambda: self._runners)
        if self._trace_recorder is not None:
            self._trace_recorder.start()
        await self.queue.start()
        if self.backends.stream_bus is not None:
            self.backends.stream_bus.start()
        self._cron = CronScheduler(
            self.registry.by_type(StepType.CRON),
            self.cron_history.layer(self.invoke),
            self.traces,
            self.logger,
            lock=self.backends.cron_lock,
        )
        self._cron.start()
        self.registries.on_swap(self._registry_swapped)  # HTTP follows it too (http/live_routes.py)
        self.live.start()
        from motia_core.http.app import build_app  # late: only a serving core needs the HTTP layer
        from motia_core.http.timeouts import KEEPALIVE_TIMEOUT, HardenedAppRunner  # header deadline, keep-alive

        config_auth = self.project_config.stream_auth if self.project_config is not None else None
        auth = config_auth if self._config_auth else self.registry.stream_auth
        access = StreamAccess(self._access_invoke, self.logger, auth)
        self.sockets = StreamSocketServer(self.streams, self.logger, access=access)
        # handler_cancellation: a client that disconnects cancels its handler, whose invocation then
        # cancels the runner's handler and frees the slot (docs/delivery.md#every-wait-has-a-limit)
        self._http = HardenedAppRunner(
            build_app(self),
            access_log=None,
            handle_signals=False,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            handler_cancellation=True,
            shutdown_timeout=self.options.shutdown_timeout * HTTP_DRAIN_SHARE,
        )
        await self._http.setup()
        site_ = web.TCPSite(self._http, self.options.host, self.options.port, reuse_address=True)
        try:
            await site_.start()
        except OSError as exc:
            raise ProjectError(
                f"cannot listen on {self.options.host}:{self.options.port}: {exc.strerror or exc} "
                "(is another server using it? pick another with --port)"
            ) from exc
        server = getattr(site_, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.http_port = sockets[0].getsockname()[1] if sockets else self.options.port
        self.logger.info(f"motia-core listening on http://{self._display_host()}:{self.http_port}")

    async def stop(self) -> None:
        """Stop within --shutdown-timeout whatever the runners do: drain HTTP, cron and the runners
        against one deadline, then SIGKILL every runner process left and close the stores. Events not
        finished stay queued for the next start, no attempt counted (EventBus.stopping)."""
        loop = asyncio.get_running_loop()
        budget = max(1.0, self.options.shutdown_timeout)
        deadline = loop.time() + budget - CLOSE_MARGIN
        self.queue.pause()  # nothing new starts; what is in flight gets the runners' grace
        if self._bus is not None:
            self._bus.stopping = True
        try:
            await asyncio.wait_for(self._drain(deadline), max(0.1, deadline - loop.time()))
        except TimeoutError:
            self.logger.warn(f"shutdown took longer than --shutdown-timeout {budget:g}s; killing the runners")
        finally:
            killed = [pid for r in self._runners.values() for pid in r.kill()]
            if killed:
                self.logger.warn(f"killed runner processes {killed} at the shutdown deadline")
            if self._bus is not None:
                await self._bus.idle(0.5)  # deliveries failed by the kills write their fate first
            if self._trace_recorder is not None:  # the last runs' spans, within a bounded wait
                await self._trace_recorder.close(TRACE_FLUSH_WAIT)
            await self.cron_history.close()
            await self.live.close()
            recorder, self._log_recorder = self._log_recorder, None
            await close_logs(recorder, self.log_storage, self.logger, TRACE_FLUSH_WAIT)  # the last lines, bounded
            if self._otel is not None:  # the SDK's flush blocks: in a thread, bounded by its own timeout
                if not await asyncio.to_thread(self._otel.close, OTEL_FLUSH_WAIT):
                    self.logger.warn(f"the OpenTelemetry collector did not take the last spans in {OTEL_FLUSH_WAIT}s")
            await self.queue.close()
            await self._server.stop(0)
            if self.backends.stream_bus is not None:
                await self.backends.stream_bus.close()
            await self.state.close()
            await self.streams.store.close()
            await self.trace_storage.close()
            await self.backends.close()  # e.g. the Redis connection pool the stores shared

    def subscriptions(self) -> dict[str, tuple[str, str]]:
        """Each queue subscription's (topic, step name): GET /__motia/queue."""
        return {
            subscription_key(topic, step): (topic, step.name)
            for topic, steps in self.registry.subscribers().items()
            for step in steps
        }

    async def _drain(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if self._http is not None:
            http, self._http = self._http, None
            await http.cleanup()  # waits for calls in flight up to its shutdown_timeout, then cancels them
        if self._cron is not None:
            await self._cron.stop()
        grace = max(0.5, deadline - loop.time())  # the runners' grace is what the budget has left
        await asyncio.gather(*(r.stop(grace) for r in self._runners.values()), return_exceptions=True)
        if self._bus is not None:
            await self._bus.idle(max(0.1, deadline - loop.time()))

    async def serve_forever(self) -> None:
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
            self.logger.info("shutting down: draining runners")
        finally:
            await self.stop()

    # -- what the dispatcher and routes use -------------------------------------------------------

    async def session_for(self, runtime: RunnerName, timeout: float) -> GrpcSession:
        proc = self._runners.get(runtime)
        if proc is None:
            raise RunnerUnavailable(f"no {runtime} runner in this project")
        return await proc.session_ready(timeout)

    def bus_or_fail(self) -> EventBus:
        if self._bus is None:
            raise RunnerUnavailable("the core is still starting")
        return self._bus

    def runner_status(self) -> list[dict[str, Any]]:
        return runner_rows(self._runners, self.runners)

    # -- internals -------------------------------------------------------------------------------

    def _on_manifest(self, runtime: RunnerName, manifest: Manifest, first: bool) -> None:
        self.loads[runtime] = self.runtime_load(self._runners[runtime].files, manifest)
        if not first:  # a runner restarted after a crash: what it loaded now is what is served
            self.reconcile(f"the {runtime} runner restarted")

    def runtime_load(self, files: list[StepFile], manifest: Manifest) -> RuntimeLoad:
        manifest, failure = project_config.take_entry(manifest, self.project_config)
        issues = []
        if failure is not None:  # streamAuth then fails closed: every connection gets 401
            detail = f"{failure.error_type}: {failure.message}"
            issues.append(ConfigIssue(failure.step_id, "", f"cannot load the file: {detail}"))
        steps = [f for f in files if f.kind is not FileKind.PROJECT_CONFIG]
        return RuntimeLoad(steps, manifest, issues=issues)

    def build_registry(self) -> Registry:
        """A registry from every runner's last manifest (and the files no runner could take)."""
        for runtime, proc in self._runners.items():  # files whose import ended their runner (supervisor.py)
            load = self.loads.setdefault(runtime, RuntimeLoad([], Manifest()))
            load.quarantined = dict(proc.quarantined)
        issues = [issue for runner_issues in self._load_issues.values() for issue in runner_issues]
        return build_registry(self.loads, issues, self.discovery.files)

    def reconcile(self, why: str) -> Registry:
        """Rebuild the registry from the runners' last manifests and swap it in: routes, subscriptions
        and cron change together (registry.LiveRegistry); what changed is logged."""
        new = self.build_registry()
        old = self.registries.swap(new)
        self.streams.streams = new.streams
        report_swap(why, old, new, self.logger)
        self.live.flows_changed()  # the Workbench's live socket redraws the flows (http/admin_live.py)
        return new

    def _registry_swapped(self, _old: Registry, new: Registry) -> None:
        if self._bus is not None:
            self._bus.update(new)
        if self._cron is not None:
            self._cron.update(new.by_type(StepType.CRON))

    def _display_host(self) -> str:
        return "localhost" if self.options.host in ("0.0.0.0", "::", "") else self.options.host


def _otel_export(project_dir: Path) -> OtelExport | None:
    """The OTLP exporter when an endpoint is configured and the SDK not switched off (OTEL_SDK_DISABLED);
    otherwise opentelemetry is never imported."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if not any(os.environ.get(name, "").strip() for name in OTEL_ENDPOINT_VARIABLES):
        return None
    from motia_core.otel import OtelExport

    return OtelExport(project_dir)
