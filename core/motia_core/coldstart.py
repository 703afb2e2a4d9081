"""Cold start: the runners start before the core's heavy imports finish (issue 15 item 4).

`serve` and `dev` import only what discovery and spawning need (the project config, the runner
registry, discovery, the gRPC server and the supervisor), start the runner processes, and only then
import the HTTP, queue, state and tracing stack, in a thread, while the event loop answers the
runners' handshakes and sends them their step files. The runners' own start (interpreter, imports,
bundling and importing step files) thus overlaps the core's imports instead of following them
(docs/performance.md#cold-start-where-the-time-goes).

`launch_runners` is the one spawn path: `MotiaCore.load()` calls it when nothing was started early
(tests, `steps`), `start_early` calls it before the core exists.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motia_core import project_config
from motia_core.errors import ConfigIssue
from motia_core.logs import Logger
from motia_core.project import Discovery, FileKind, RunnerName, discover
from motia_core.runner_registry import RunnerSet, installed_runners
from motia_core.runners.launch import RunnerLauncher
from motia_core.runners.supervisor import RunnerProcess
from motia_core.runners.transport import CallHandler, InvocationScope, Manifest, RunnerInfo

if TYPE_CHECKING:  # grpc (~60-80 ms of CPU) is imported by EarlyStart.start, after the project config is read
    from motia_core.runners.grpc_server import GrpcRunnerServer

OnManifest = Callable[[RunnerName, Manifest, bool], None]

# What a serving core imports after the runners are spawned: the modules MotiaCore and the HTTP layer
# load at their first use (app.py imports http.app late), warmed in a thread while the runners start.
CORE_MODULES = ("motia_core.app", "motia_core.http.app", "motia_core.registry", "motia_core.http.timeouts")


@dataclass
class RunnerLaunch:
    """Runners spawned for one discovery; `starting` ends when each has loaded its files (or failed)."""

    discovery: Discovery
    config_auth: bool  # motia.config's streamAuth runs in the Node runner (project_config.config_auth_wins)
    processes: dict[RunnerName, RunnerProcess]
    load_issues: dict[RunnerName, list[ConfigIssue]]
    starting: asyncio.Future[Any]
    spawned_at: float = field(default_factory=time.perf_counter)


async def launch_runners(
    project_dir: Path,
    config: project_config.ProjectConfig | None,
    runners: RunnerSet,
    launcher: RunnerLauncher,
    server: GrpcRunnerServer,
    logger: Logger,
    on_manifest: OnManifest,
) -> RunnerLaunch:
    """Discover the step files, run prepare commands, start the gRPC server (when not yet listening)
    and spawn one runner per runtime; returns without waiting for the runners (await `starting`).
    Every runner is spawned once the server listens: spawning the Node runner before it (it waited for
    the socket) was measured and removed, docs/performance.md "Cold start"."""
    found = discover(project_dir, runners)
    for warning in found.warnings:
        logger.warn(warning)
    auth_files = found.of_kind(FileKind.STREAM_AUTH)
    config_auth, both = project_config.config_auth_wins(config, auth_files)
    if both is not None and config is not None:
        config.findings.append(both)  # `steps` prints it with the other findings
        logger.warn(both)
    if config_auth and config is not None:  # the Node runner runs authenticate
        found.files.append(config.file)
    names = sorted(found.runtimes())
    by_runner = {name: [f for f in found.files if f.runtime == name] for name in names}
    # prepare (build) commands run side by side; a runner whose prepare fails is not started
    ready = await asyncio.gather(*(launcher.ready_spec(n, by_runner[n]) for n in names))
    processes: dict[RunnerName, RunnerProcess] = {}
    issues: dict[RunnerName, list[ConfigIssue]] = {}
    for name, spec in zip(names, ready, strict=True):
        if isinstance(spec, list):
            issues[name] = spec
            continue
        processes[name] = RunnerProcess(spec, by_runner[name], server, logger, on_manifest)
    if not server.address:
        await server.start()
    starting = asyncio.gather(*(p.start() for p in processes.values()))
    if processes:
        _log_spawning(logger, processes)
    return RunnerLaunch(found, config_auth, processes, issues, starting)


def _log_spawning(logger: Logger, processes: dict[RunnerName, RunnerProcess]) -> None:
    counts = ", ".join(f"{n} ({len(p.files)} files)" for n, p in processes.items())
    # bench/benchlib/suite_startup.py reads this line; cpu_ms: the core's CPU time so far
    logger.debug(f"runners spawning: {counts}", cpu_ms=round(time.process_time() * 1000))


class DeferredCalls:
    """The runners' calls (emit, state, streams, logs) before the core that serves them exists.

    A runner may connect while the core still imports; its session is given this object. Calls wait
    for `attach`, logs are kept and replayed. After `attach` each method is the core's own bound
    method (instance attributes shadow the class's), so a call costs no extra hop."""

    _NAMES = (
        "emit",
        "state_get",
        "state_set",
        "state_delete",
        "state_get_group",
        "state_clear",
        "stream_get",
        "stream_set",
        "stream_delete",
        "stream_get_group",
        "stream_send",
        "log",
    )

    def __init__(self) -> None:
        self._target: CallHandler | None = None
        self._attached = asyncio.Event()
        self._logs: list[tuple[Any, ...]] = []

    def attach(self, target: CallHandler) -> None:
        self._target = target
        for name in self._NAMES:
            setattr(self, name, getattr(target, name))
        logs, self._logs = self._logs, []
        for args in logs:
            target.log(*args)
        self._attached.set()

    async def _core(self) -> CallHandler:
        await self._attached.wait()
        assert self._target is not None
        return self._target

    async def emit(self, scope: InvocationScope | None, topic: str, data_json: bytes, group_id: str) -> bytes:
        return await (await self._core()).emit(scope, topic, data_json, group_id)

    async def state_get(self, scope: InvocationScope | None, group_id: str, key: str) -> bytes:
        return await (await self._core()).state_get(scope, group_id, key)

    async def state_set(self, scope: InvocationScope | None, group_id: str, key: str, value_json: bytes) -> bytes:
        return await (await self._core()).state_set(scope, group_id, key, value_json)

    async def state_delete(self, scope: InvocationScope | None, group_id: str, key: str) -> bytes:
        return await (await self._core()).state_delete(scope, group_id, key)

    async def state_get_group(self, scope: InvocationScope | None, group_id: str) -> bytes:
        return await (await self._core()).state_get_group(scope, group_id)

    async def state_clear(self, scope: InvocationScope | None, group_id: str) -> bytes:
        return await (await self._core()).state_clear(scope, group_id)

    async def stream_get(self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str) -> bytes:
        return await (await self._core()).stream_get(scope, stream, group_id, item_id)

    async def stream_set(
        self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str, data_json: bytes
    ) -> bytes:
        return await (await self._core()).stream_set(scope, stream, group_id, item_id, data_json)

    async def stream_delete(self, scope: InvocationScope | None, stream: str, group_id: str, item_id: str) -> bytes:
        return await (await self._core()).stream_delete(scope, stream, group_id, item_id)

    async def stream_get_group(self, scope: InvocationScope | None, stream: str, group_id: str) -> bytes:
        return await (await self._core()).stream_get_group(scope, stream, group_id)

    async def stream_send(
        self,
        scope: InvocationScope | None,
        stream: str,
        group_id: str,
        item_id: str,
        event_type: str,
        data_json: bytes,
    ) -> bytes:
        return await (await self._core()).stream_send(scope, stream, group_id, item_id, event_type, data_json)

    def log(
        self,
        scope: InvocationScope | None,
        info: RunnerInfo,
        level: int,
        message: str,
        fields_json: bytes,
        time_ms: int,
    ) -> None:
        self._logs.append((scope, info, level, message, fields_json, time_ms))


class EarlyStart:
    """Runners started before MotiaCore exists; `MotiaCore(..., early=...)` adopts them."""

    def __init__(self, project_dir: Path, logger: Logger, *, strict: bool, slots: int) -> None:
        self.project_dir = project_dir
        self.logger = logger
        # motia.config.ts / .js first: its `runners` key may declare runners (project_config.py)
        self.project_config = project_config.read(project_dir, project_config.node_command)
        self.runners: RunnerSet = installed_runners(project_dir, self.project_config)
        self.launcher = RunnerLauncher(project_dir, self.runners, logger, strict=strict, slots=slots)
        self.calls = DeferredCalls()
        self._server: GrpcRunnerServer | None = None
        self.launch: RunnerLaunch | None = None
        self._on_manifest: OnManifest | None = None
        self._manifests: list[tuple[RunnerName, Manifest, bool]] = []

    async def start(self) -> RunnerLaunch:
        # grpc only now: the project config and the runner set above need none of it
        from motia_core.runners.grpc_server import GrpcRunnerServer

        self._server = GrpcRunnerServer(self.calls, self.logger, str(self.project_dir))
        self.launch = await launch_runners(
            self.project_dir,
            self.project_config,
            self.runners,
            self.launcher,
            self._server,
            self.logger,
            self._manifest,
        )
        return self.launch

    @property
    def server(self) -> GrpcRunnerServer:
        """The gRPC server the runners connected to (after `start`)."""
        assert self._server is not None and self._server.address, "EarlyStart.start has not started the server"
        return self._server

    def attach(self, calls: CallHandler, on_manifest: OnManifest) -> None:
        """The core is built: its calls serve the runners, its handler takes the manifests kept so far."""
        self.calls.attach(calls)
        self._on_manifest = on_manifest
        kept, self._manifests = self._manifests, []
        for args in kept:
            on_manifest(*args)

    def _manifest(self, runtime: RunnerName, manifest: Manifest, first: bool) -> None:
        if self._on_manifest is None:
            self._manifests.append((runtime, manifest, first))
        else:
            self._on_manifest(runtime, manifest, first)

    async def abandon(self, grace: float = 2.0) -> None:
        """The core could not be built: stop what was started."""
        if self.launch is not None:
            procs = list(self.launch.processes.values())
            await asyncio.gather(*(p.stop(grace) for p in procs), return_exceptions=True)
            self.launch.starting.cancel()
            await asyncio.gather(self.launch.starting, return_exceptions=True)
        if self._server is not None:
            await self._server.stop(0)


async def start_early(project_dir: Path, logger: Logger, *, strict: bool, slots: int) -> EarlyStart:
    """Read the project config, build the runner set, spawn the runners; then import the rest of the
    core in a thread while they start (the loop keeps answering their handshakes). `project_dir` is
    resolved and exists (cli.py checks it)."""
    started = time.perf_counter()
    early = EarlyStart(project_dir, logger, strict=strict, slots=slots)
    try:
        await early.start()
        spawned = time.perf_counter()
        await asyncio.to_thread(import_core)
    except BaseException:
        await early.abandon()
        raise
    done = time.perf_counter()
    logger.debug(
        f"core imports done in {(done - spawned) * 1000:.0f} ms, "
        f"after the runners were spawned at {(spawned - started) * 1000:.0f} ms",
        cpu_ms=round(time.process_time() * 1000),
    )
    return early


def import_core() -> None:
    from motia_core.lazy_certs import import_aiohttp

    import_aiohttp()  # first: aiohttp's client TLS contexts load their CA bundle at first use, not here
    for name in CORE_MODULES:
        importlib.import_module(name)
