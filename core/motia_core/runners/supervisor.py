"""Runner processes: spawn, handshake, load steps, watch, restart with backoff, stop.

No orphans: every runner gets a stdin pipe from the core and exits when it reads EOF, which the
kernel delivers when the core dies for any reason, kill -9 included. Runners run in their own
session (process group) so a terminal's Ctrl-C reaches only the core, which then drains them.
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
from typing import Any

from motia_core.errors import RunnerError, RunnerUnavailable
from motia_core.logs import Level, Logger
from motia_core.project import Runtime, StepFile
from motia_core.runners.grpc_server import GrpcRunnerServer
from motia_core.runners.grpc_session import GrpcSession
from motia_core.runners.transport import Manifest


class RunnerState(enum.Enum):
    SPAWNING = "spawning"  # process started, not connected yet
    HANDSHAKING = "handshaking"  # connected, loading step files
    READY = "ready"  # taking invocations
    DRAINING = "draining"  # told to shut down, finishing in-flight work
    STOPPED = "stopped"  # exited on request
    CRASHED = "crashed"  # exited or lost its stream unasked; a restart is pending


@dataclass
class RunnerSpec:
    runtime: Runtime
    command: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    slots: int = 1024


BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
HEALTHY_AFTER = 10.0  # seconds up before the backoff resets
CONNECT_TIMEOUT = 30.0
DRAIN_TIMEOUT = 300.0  # a draining runner is killed if it has not finished by then
LOAD_TIMEOUT = 120.0


class RunnerProcess:
    """Keeps one language runner alive."""

    def __init__(
        self,
        spec: RunnerSpec,
        files: list[StepFile],
        server: GrpcRunnerServer,
        logger: Logger,
        on_manifest: Callable[[Runtime, Manifest, bool], None],
    ) -> None:
        self.spec = spec
        self.files = files
        self._server = server
        self._logger = logger
        self._on_manifest = on_manifest
        self.state = RunnerState.SPAWNING
        self.session: GrpcSession | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._ready = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drains: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self.spec.runtime.value

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
        self._stopping = True
        self._ready.clear()
        session, proc = self.session, self.process
        if session is not None and proc is not None and proc.returncode is None:
            self.state = RunnerState.DRAINING
            with contextlib.suppress(RunnerError):
                await session.shutdown(grace, "core shutting down")
            # let it exit on its own (0) before stdin closes, which it would read as "core died"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
        if proc is not None:
            await _terminate(proc, grace=1.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for drain in list(self._drains):  # their finally blocks stop the draining processes
            drain.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)
        self.state = RunnerState.STOPPED

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
            if not self._first.done():
                self._first.set_result(None)
            if self._stopping:
                break
            self.state = RunnerState.CRASHED
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
                start_new_session=True,
            )
        except OSError as exc:
            self._server.forget(secret)
            raise RunnerError(f"cannot start {' '.join(self.spec.command)}: {exc}") from exc
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
            # from the moment its stream ends, callers wait for the respawn instead of getting this session
            session.closed.add_done_callback(lambda _: self._ready.clear() if self.session is session else None)
            self.state = RunnerState.HANDSHAKING
            manifest = await session.load_steps(self.files, LOAD_TIMEOUT)
            self._on_manifest(self.spec.runtime, manifest, first)
            if not self._first.done():
                self._first.set_result(None)
            self.state = RunnerState.READY
            self._ready.set()
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
            if not exited.done():  # a killed runner's stream often ends first: wait a moment for its exit code
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), 0.5)
            if not self._stopping:
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), DRAIN_TIMEOUT)
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
        if stream is None:
            return
        source = f"runner:{self.name}"
        while True:
            try:
                line = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):  # an over-long line: skip what is buffered
                continue
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip()
            if text:
                self._logger.log(level, text, source=source)


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
