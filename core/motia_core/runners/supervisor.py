"""Runner processes: spawn, handshake, load steps, watch, restart with backoff, stop.

No orphans: every runner gets a stdin pipe from the core and exits when it reads EOF, which the
kernel delivers when the core dies for any reason, kill -9 included. Runners run in their own
process group, so a terminal's Ctrl-C reaches only the core, which then drains them; they stay in
the core's session, so Linux autogroup weighs the core and its runners as one (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from motia_core.errors import RunnerError, RunnerUnavailable
from motia_core.logs import Level, Logger
from motia_core.project import RunnerName, StepFile
from motia_core.runners.loading import StepLoading
from motia_core.runners.transport import Manifest

if TYPE_CHECKING:  # grpc is imported after the first runners are spawned (coldstart.py)
    from motia_core.runners.grpc_session import GrpcSession


class RunnerServer(Protocol):
    """Where a spawned runner connects: grpc_server.GrpcRunnerServer (a protocol: the spawn path imports no grpc)."""

    address: str

    def expect(self, secret: str) -> asyncio.Future[GrpcSession]: ...

    def forget(self, secret: str) -> None: ...


class RunnerState(enum.Enum):
    SPAWNING = "spawning"  # process started, not connected yet
    HANDSHAKING = "handshaking"  # connected, loading step files
    READY = "ready"  # taking invocations
    DRAINING = "draining"  # told to shut down, finishing in-flight work
    STOPPED = "stopped"  # exited on request
    CRASHED = "crashed"  # exited or lost its stream unasked; a restart is pending


@dataclass
class RunnerSpec:
    runtime: RunnerName  # the declaration's name (plugins.RunnerDeclaration)
    command: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    slots: int = 1024


BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
HEALTHY_AFTER = 10.0  # seconds up before the backoff resets
CONNECT_TIMEOUT = 30.0
DRAIN_TIMEOUT = 300.0  # a draining runner is killed if it has not finished by then
KILL_TIME = 1.0  # of a stop's grace, kept for SIGTERM then SIGKILL after the runner's own shutdown


class RunnerProcess:
    """Keeps one language runner alive."""

    def __init__(
        self,
        spec: RunnerSpec,
        files: list[StepFile],
        server: RunnerServer,
        logger: Logger,
        on_manifest: Callable[[RunnerName, Manifest, bool], None],
    ) -> None:
        self.spec = spec
        self.loading = StepLoading(spec.runtime, files, logger)  # the load phase (runners/loading.py)
        self._server = server
        self._logger = logger
        self._on_manifest = on_manifest
        self.state = RunnerState.SPAWNING
        self.session: GrpcSession | None = None
        self.process: asyncio.subprocess.Process | None = None
        # set once the first process exists (or its spawn failed): coldstart waits for it before importing grpc
        self.spawned = asyncio.Event()
        self.restarts = 0
        self.started_at: float | None = None  # when the running process was spawned (GET /__motia/runners)
        self._ready = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drains: set[asyncio.Task[None]] = set()
        self._live: set[asyncio.subprocess.Process] = set()  # every process spawned and not yet reaped

    @property
    def name(self) -> str:
        return self.spec.runtime

    @property
    def files(self) -> list[StepFile]:
        """The files this runner imports: discovery's, minus any quarantined (runners/loading.py)."""
        return self.loading.files

    @property
    def quarantined(self) -> dict[str, str]:
        return self.loading.quarantined

    async def start(self) -> None:
        """Spawn and wait for the first load to finish (or fail)."""
        self._task = asyncio.create_task(self._supervise(), name=f"supervise-{self.name}")
        await asyncio.shield(self._first)

    async def session_ready(self, timeout: float) -> GrpcSession:
        if self.state is RunnerState.READY and self.session is not None and not self.session.closed.done():
            return self.session
        if self._stopping:
            raise RunnerUnavailable(f"the {self.name} runner is shutting down")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise RunnerUnavailable(f"the {self.name} runner is not ready ({self.state.value})") from None
        assert self.session is not None
        return self.session

    async def stop(self, grace: float) -> None:
        """Stop within `grace` seconds whatever the runner does (ignores Shutdown and SIGTERM, is
        SIGSTOPped, runs a handler that never returns): Shutdown first, then SIGTERM, then SIGKILL."""
        self._stopping = True
        self._ready.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        soft = max(0.0, grace - KILL_TIME)
        session, proc = self.session, self.process
        if session is not None and proc is not None and proc.returncode is None and not session.closed.done():
            self.state = RunnerState.DRAINING
            with contextlib.suppress(RunnerError, TimeoutError):
                await asyncio.wait_for(self._shut_down(session, proc, soft), soft)
        # runners draining after their own SIGTERM share the same deadline
        drains = [d for d in self._drains if not d.done()]
        if drains:
            await asyncio.wait(drains, timeout=max(0.0, deadline - KILL_TIME - loop.time()))
        live = [p for p in self._live if p.returncode is None]
        await asyncio.gather(*(_terminate(p, grace=max(0.1, (deadline - loop.time()) / 2)) for p in live))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for drain in list(self._drains):
            drain.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)
        self.state = RunnerState.STOPPED

    async def _shut_down(self, session: GrpcSession, proc: asyncio.subprocess.Process, soft: float) -> None:
        # the runner gets most of the time for its handlers and the rest to flush, close and exit 0
        await session.shutdown(max(0.0, soft - 0.5), "core shutting down")
        # let it exit on its own (0) before stdin closes, which it would read as "core died"
        await proc.wait()

    def kill(self) -> list[int]:
        """SIGKILL every process of this runner still alive (the last step of a bounded stop); their pids."""
        killed = []
        for p in list(self._live):
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                killed.append(p.pid)
        return killed

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            started = time.monotonic()
            try:
                if await self._run_once(first=not self._first.done()):
                    continue  # the old runner drains in the background; start its replacement now
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._logger.error(f"{self.name} runner failed: {exc}", source=f"runner:{self.name}")
            finally:
                self._ready.clear()
                if self.session is not None:
                    self.session.abort("runner process ended")
                if self.process is not None and self.process.returncode is None:
                    await _terminate(self.process, grace=0.5)
            if not self._first.done() and (self._stopping or not self.loading.retry_pending):
                self._first.set_result(None)
            if self._stopping:
                break
            self.state = RunnerState.CRASHED
            if self.loading.retry_pending:  # each such round loads one by one or drops one file: bounded
                delay = BACKOFF[0]
            else:
                attempt = 0 if time.monotonic() - started > HEALTHY_AFTER else attempt + 1
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            self.restarts += 1
            self._logger.warn(f"restarting the {self.name} runner in {delay:g}s", source=f"runner:{self.name}")
            await asyncio.sleep(delay)

    async def _run_once(self, first: bool) -> bool:
        """Run one runner process until it ends; True if it was handed off to drain in the background."""
        self.state = RunnerState.SPAWNING
        handed_off = False
        secret = secrets.token_urlsafe(32)
        connected = self._server.expect(secret)
        env = {
            **os.environ,
            **self.spec.env,
            "MOTIA_CORE_ADDRESS": self._server.address,
            "MOTIA_RUNNER_SECRET": secret,
            "MOTIA_PROJECT_DIR": self.spec.cwd,
            "MOTIA_RUNNER_SLOTS": str(self.spec.slots),
        }
        try:
            self.process = proc = await asyncio.create_subprocess_exec(
                *self.spec.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.spec.cwd,
                env=env,
                # setpgid, not setsid: a session of its own put each runner in its own autogroup, and a
                # runner outweighing a core whose session is busy elsewhere (a script's wrk) answered
                # every frame at once: ~2 envelopes per frame instead of ~6, 1.6-2x CPU per request.
                preexec_fn=os.setpgrp,
            )
            self.started_at = time.time()
            self._live = {p for p in self._live if p.returncode is None}
            self._live.add(proc)
        except OSError as exc:
            self._server.forget(secret)
            raise RunnerError(f"cannot start {' '.join(self.spec.command)}: {exc}") from exc
        finally:
            self.spawned.set()
        pumps = [
            asyncio.create_task(self._pump(proc.stdout, Level.INFO)),
            asyncio.create_task(self._pump(proc.stderr, Level.WARN)),
        ]
        exited = asyncio.create_task(proc.wait())
        try:
            waiting: set[asyncio.Future[Any]] = {connected, exited}
            done, _ = await asyncio.wait(waiting, timeout=CONNECT_TIMEOUT, return_when="FIRST_COMPLETED")
            if connected not in done:
                if exited in done:
                    raise RunnerError(f"the {self.name} runner exited with code {proc.returncode} before connecting")
                raise RunnerError(f"the {self.name} runner did not connect within {CONNECT_TIMEOUT:g}s")
            self.session = session = connected.result()
            if first and session.info.language != self.name:  # plugins.RunnerDeclaration.name: they must agree
                said = f"says its language is '{session.info.language}' (Hello.language), not '{self.name}'"
                self._logger.warn(f"the {self.name} runner {said}: is its command right?", source=f"runner:{self.name}")
            # from the moment its stream ends, callers wait for the respawn instead of getting this session
            session.closed.add_done_callback(lambda _: self._ready.clear() if self.session is session else None)
            self.state = RunnerState.HANDSHAKING
            manifest = await self.loading.load(session, exited, lambda: self._stopping)
            self._on_manifest(self.spec.runtime, manifest, first)
            if not self._first.done():
                self._first.set_result(None)
            self.state = RunnerState.READY
            self._ready.set()
            session.start_heartbeat()  # only now: loading step files may block a runner for a while
            info = session.info
            self._logger.debug(
                f"{self.name} runner ready",
                source=f"runner:{self.name}",
                pid=info.pid,
                runtime=info.runtime_version,
                slots=info.slots,
            )
            watching: set[asyncio.Future[Any]] = {exited, session.closed, session.draining}
            await asyncio.wait(watching, return_when="FIRST_COMPLETED")
            if session.draining.done() and not (exited.done() or session.closed.done() or self._stopping):
                self._hand_off(proc, session, exited, pumps)
                handed_off = True
                return True
            if session.unresponsive and not exited.done():
                # SIGTERM would stay pending on a stopped process and a blocked loop would not run its
                # handler: only SIGKILL ends either at once
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                self._logger.error(
                    f"the {self.name} runner (pid {proc.pid}) {session.unresponsive}; killed"
                    + ("" if self._stopping else " and replaced"),
                    source=f"runner:{self.name}",
                )
            if not exited.done():  # a killed runner's stream often ends first: wait a moment for its exit code
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), 0.5)
            if not self._stopping and not session.unresponsive:
                why = (
                    f"exited with code {proc.returncode}"
                    if exited.done()
                    else f"stream ended: {session.closed.result()}"
                )
                self._logger.error(f"the {self.name} runner {why}", source=f"runner:{self.name}")
        finally:
            self._server.forget(secret)
            if not handed_off:
                if not exited.done() and (self._stopping or self.session is None or self.session.closed.done()):
                    # a runner whose stream ended exits by itself (0 after a drain): give it a moment first
                    await _terminate(proc, grace=0.5, natural_exit=2.0 if self._stopping else 0.5)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*pumps, return_exceptions=True), 1.0)
                exited.cancel()
        return False

    def _hand_off(
        self,
        proc: asyncio.subprocess.Process,
        session: GrpcSession,
        exited: asyncio.Task[int],
        pumps: list[asyncio.Task[None]],
    ) -> None:
        """A runner told us it is draining (SIGTERM): it keeps its in-flight work and gets no new work;
        a replacement starts at once so new work waits only for that one's start-up."""
        self._ready.clear()
        self.session, self.process = None, None
        self.state = RunnerState.DRAINING
        self._logger.info(
            f"the {self.name} runner (pid {proc.pid}) is draining ({session.draining.result()}); "
            f"starting a replacement",
            source=f"runner:{self.name}",
        )
        task = asyncio.create_task(self._finish_drain(proc, session, exited, pumps))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def _finish_drain(
        self,
        proc: asyncio.subprocess.Process,
        session: GrpcSession,
        exited: asyncio.Task[int],
        pumps: list[asyncio.Task[None]],
    ) -> None:
        try:
            # until it exits, or its stream goes quiet for good (the heartbeat gave up on it)
            ends: set[asyncio.Future[Any]] = {exited, session.closed}
            await asyncio.wait(ends, timeout=DRAIN_TIMEOUT)
            if session.unresponsive and not exited.done():
                self._logger.error(
                    f"the draining {self.name} runner (pid {proc.pid}) {session.unresponsive}; killed",
                    source=f"runner:{self.name}",
                )
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            if exited.done():
                self._logger.info(
                    f"the drained {self.name} runner (pid {proc.pid}) exited with code {proc.returncode}",
                    source=f"runner:{self.name}",
                )
        finally:
            await _terminate(proc, grace=0.5, natural_exit=1.0)
            session.abort("drained")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pumps, return_exceptions=True), 1.0)
            exited.cancel()

    async def _pump(self, stream: asyncio.StreamReader | None, level: Level) -> None:
        """Log each line the runner prints. It never stops reading until the pipe ends, whatever the
        logger does (the logger drops lines it cannot write, docs/delivery.md#storage-faults): a
        runner whose pipe fills blocks in print()/console.log, and so would its handlers. Reads in
        chunks, one wake-up for many lines; a line longer than `max_line` is logged cut."""
        if stream is None:
            return
        source = f"runner:{self.name}"
        max_line = 64 * 1024
        cut = f" [cut: line longer than {max_line} bytes]".encode()
        pending = b""
        cutting = False  # inside an over-long line whose start was logged already
        while True:
            chunk = await stream.read(max_line)
            lines = (pending + chunk).split(b"\n")
            pending = b"" if not chunk else lines.pop()
            if cutting:
                if not chunk or lines:
                    lines.pop(0)  # the rest of the over-long line
                    cutting = False
                else:
                    pending = b""
            if len(pending) > max_line:  # do not hold more of it: log its start, skip the rest
                lines.append(pending)
                pending, cutting = b"", True
            if self._logger.enabled(level):
                for line in lines:
                    if len(line) > max_line:
                        line = line[:max_line] + cut
                    text = line.decode("utf-8", errors="replace").rstrip()
                    if text:
                        with contextlib.suppress(Exception):  # keep draining whatever happens to the log
                            self._logger.log(level, text, source=source)
            if not chunk:
                return


async def _terminate(proc: asyncio.subprocess.Process, grace: float, natural_exit: float = 0.0) -> None:
    """Wait up to `natural_exit` seconds for the runner to exit by itself, then SIGTERM its process
    group, then SIGKILL after `grace` seconds."""
    if proc.returncode is not None:
        return
    if natural_exit > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), natural_exit)
            return
    if proc.stdin is not None:
        with contextlib.suppress(Exception):
            proc.stdin.close()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), grace)
            return
        except TimeoutError:
            continue
