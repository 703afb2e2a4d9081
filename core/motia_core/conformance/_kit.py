"""Running the cases: a fixture project, the kit's server, runners spawned per case or shared.

The target (_target.py) is a runner declaration: the kit copies its fixtures, discovers their step
files with the declaration's patterns (as the core's discovery does), runs its ``prepare`` once if
it has one, and starts runners with its ``command`` and ``env``, the way the core would.
Every case runs under its own timeout; a runner that hangs, crashes or misbehaves fails the case
(with the reason and the runner's last output lines), never the kit. One *shared* runner (welcomed
with ``max_message_bytes`` = 1 MiB, fixture steps loaded) serves every case that can share it; it is
killed and replaced after a failed case. Cases that need their own process (refusals, shutdown,
stdin EOF) spawn fresh ones. Every runner the kit spawned is killed before the kit returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._kit_server import KitServer
from motia_core.conformance._process import RunnerProcess, run_prepare
from motia_core.conformance._stream import RunnerStream
from motia_core.conformance._target import Target
from motia_core.errors import ProjectError
from motia_core.plugins import PREPARE_TIMEOUT, RunnerContext
from motia_core.project import FileKind, StepFile, discover
from motia_core.runner_registry import InstalledRunner, RunnerSet

_T = TypeVar("_T")

KIT_MAX_MESSAGE_BYTES = 1024 * 1024  # Welcome.max_message_bytes of every runner the kit welcomes
RUNNER_SLOTS = 256  # MOTIA_RUNNER_SLOTS the kit spawns runners with
CONNECT_TIMEOUT = 15.0


class CaseFailed(Exception):
    """A check did not hold; the message is the reason shown in the report."""


class CaseSkipped(Exception):
    """The case cannot run against this target (e.g. no broken file given); the message says why."""


class KitSetupError(Exception):
    """The kit cannot start at all: no fixture steps, a runner command that does not exist, a failed
    prepare (build) command. ``motia-core conformance`` exits 2 with this message."""


@dataclass
class CaseResult:
    name: str
    passed: bool
    detail: str  # why it failed, or what it measured when it passed
    seconds: float
    skipped: bool = False  # neither passed nor failed: the detail says why it did not run


@dataclass
class Runner:
    """A spawned runner process and, once it connected, its stream."""

    process: RunnerProcess
    secret: str  # the secret the kit expects in Hello
    hello: asyncio.Future[RunnerStream]  # resolves when a Hello with that secret arrives
    refused_before: int = 0  # how many streams the server had refused when this runner started
    stream: RunnerStream | None = None
    loaded: pb.StepsLoaded | None = None  # the answer to the first LoadSteps
    steps: dict[str, str] = field(default_factory=dict)  # config name -> step id, after loading

    def step(self, name: str) -> str:
        step_id = self.steps.get(name)
        if step_id is None:
            raise CaseFailed(f"step {name} did not load in this runner")
        return step_id

    @property
    def connected(self) -> RunnerStream:
        assert self.stream is not None
        return self.stream


Case = Callable[["CaseContext"], Awaitable[str]]


class Kit:
    """One conformance run against one runner command."""

    def __init__(self, target: Target, timeout: float, echo: bool = False) -> None:
        self.target = target
        self.command: list[str] = []  # the runner's argv: target.runner.command(context)
        self.context: RunnerContext | None = None
        self.timeout = timeout
        self.echo = echo
        self.server = KitServer()
        self.project = Path()
        self.files: list[StepFile] = []  # the fixture's step files, as the core discovers them
        self.step_files: list[tuple[str, str, str]] = []  # (step_id, path, relative path) for LoadSteps
        self._workdir: str | None = None
        self._spawned: list[RunnerProcess] = []
        self._case_spawned: list[RunnerProcess] = []  # started by the running case
        self._shared: Runner | None = None
        self._spawn_env: dict[str, str] = {}

    async def run(self, cases: list[tuple[str, Case]]) -> list[CaseResult]:
        try:
            await self._setup()
            return [await self._run_case(name, case) for name, case in cases]
        finally:
            await self._teardown()

    # -- setup and teardown ----------------------------------------------------------------------

    async def _setup(self) -> None:
        target = self.target
        self._workdir = tempfile.mkdtemp(prefix="motia-conformance-")
        os.chmod(self._workdir, 0o700)
        self.project = Path(self._workdir) / "project"
        # A copy: runners write caches next to the steps, and load_error adds a broken file.
        ignore = shutil.ignore_patterns("__pycache__", ".motia", "node_modules")
        shutil.copytree(target.fixtures_dir, self.project, ignore=ignore)
        # Discovery as the core does it, with the one declaration under test.
        runners = RunnerSet([InstalledRunner(target.runner, target.source)])
        found = discover(self.project, runners).files
        self.files = [f for f in found if f.language == target.language and f.kind is FileKind.STEP]
        if not self.files:
            patterns = ", ".join(target.declaration.step_patterns)
            raise KitSetupError(
                f"no {target.language} step files in {target.fixtures_dir}/steps or /src (step patterns: {patterns})"
            )
        self.step_files = [(f.step_id, str(f.path), f.relative_path) for f in self.files]
        self.context = RunnerContext(self.project, tuple(self.files), sys.executable, strict=False)
        try:
            extra_env = dict(target.runner.env(self.context)) if target.runner.env is not None else {}
        except ProjectError as exc:
            raise KitSetupError(f"runner '{target.runner.name}': {exc}") from exc
        self._spawn_env = {
            **extra_env,
            "MOTIA_PROJECT_DIR": str(self.project),
            "MOTIA_RUNNER_SLOTS": str(RUNNER_SLOTS),
            "MOTIA_STRICT": "0",  # as `serve` without --strict: the lenient_emit case checks Motia's lenient edges
        }
        if target.runner.prepare is not None:  # as the core: the build runs before the runner's command is asked
            code, output = await self.prepare()
            if code != 0:
                raise KitSetupError(f"the runner's prepare command failed ({code}): {' | '.join(output[-8:])}")
        try:
            self.command = list(target.runner.command(self.context))
        except ProjectError as exc:
            raise KitSetupError(f"runner '{target.runner.name}': {exc}") from exc
        if not self.command or shutil.which(self.command[0]) is None:
            shown = self.command[0] if self.command else "(an empty command)"
            raise KitSetupError(f"cannot run {shown!r} (not found or not executable)")
        if target.runner.prepare is None and target.broken is not None:
            # Runners without a build load the broken file when asked; one with a build (prepare)
            # meets it in the load_error case, which runs the build with it.
            broken, source = target.broken
            (self.project / broken).write_text(source, encoding="utf-8")
        await self.server.start(os.path.join(self._workdir, "core.sock"))

    async def prepare(self, timeout: float = PREPARE_TIMEOUT) -> tuple[int, list[str]]:
        """Run the declaration's prepare (build) command in the project copy, as the core does before
        starting the runner: its exit code (-1 on timeout) and output lines."""
        assert self.context is not None and self.target.runner.prepare is not None
        try:
            argv = list(self.target.runner.prepare(self.context))
        except ProjectError as exc:
            return 127, [f"runner '{self.target.runner.name}': {exc}"]
        return await run_prepare(argv, self.project, self._spawn_env, timeout, self.echo)

    async def _teardown(self) -> None:
        await asyncio.gather(*(p.kill() for p in self._spawned), return_exceptions=True)
        await self.server.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    # -- cases -----------------------------------------------------------------------------------

    async def _run_case(self, name: str, case: Case) -> CaseResult:
        ctx = CaseContext(self, time.monotonic() + self.timeout)
        self._case_spawned = []
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout + 1.0) as scope:
                ctx.scope = scope
                detail = await ctx.run(case)
            passed = True
        except CaseFailed as exc:
            passed, detail = False, str(exc)
        except CaseSkipped as exc:
            return CaseResult(name, False, str(exc), time.perf_counter() - started, skipped=True)
        except TimeoutError:
            passed, detail = False, f"timed out after {self.timeout:g}s"
        except Exception as exc:  # a bug in a check must fail the case, not the kit
            passed, detail = False, f"kit error: {type(exc).__name__}: {exc}"
        if not passed:
            await self._discard_shared()
        # Runners the case started and did not leave as the shared one are done with.
        keep = self._shared.process if self._shared is not None else None
        await asyncio.gather(*(p.kill() for p in self._case_spawned if p is not keep), return_exceptions=True)
        return CaseResult(name, passed, detail, time.perf_counter() - started)

    async def spawn(self, secret: str | None = None, expect: str | None = None) -> Runner:
        """Start the runner with ``secret`` in its env; the kit waits for a Hello carrying ``expect``."""
        secret = secret or secrets.token_urlsafe(24)
        expect = expect or secret
        hello = self.server.expect(expect)
        refused_before = len(self.server.refused)
        env = {**self._spawn_env, "MOTIA_CORE_ADDRESS": self.server.address, "MOTIA_RUNNER_SECRET": secret}
        label = f"runner {len(self._spawned) + 1}"
        try:
            process = await RunnerProcess.spawn(self.command, str(self.project), env, label, self.echo)
        except OSError as exc:
            self.server.forget(expect)
            raise CaseFailed(f"cannot start {' '.join(self.command)}: {exc}") from None
        self._spawned.append(process)
        self._case_spawned.append(process)
        return Runner(process, expect, hello, refused_before=refused_before)

    async def connect(self, runner: Runner, deadline: float) -> RunnerStream:
        """Wait for the runner's Hello (fails if it exits first or takes too long)."""
        fut = runner.hello
        timeout = max(0.1, min(CONNECT_TIMEOUT, deadline - time.monotonic()))
        watched: set[asyncio.Future[Any]] = {fut, runner.process.exited}
        done, _ = await asyncio.wait(watched, timeout=timeout, return_when="FIRST_COMPLETED")
        if fut not in done:
            self.server.forget(runner.secret)
            if runner.process.exited in done:
                raise CaseFailed(
                    f"the runner exited with code {runner.process.returncode} before sending Hello: "
                    f"{runner.process.tail()}"
                )
            notes = []
            if self.server.not_hello:
                notes.append(f"{self.server.not_hello} stream(s) whose first envelope was not a Hello")
            if len(self.server.refused) > runner.refused_before:
                notes.append(f"{len(self.server.refused) - runner.refused_before} Hello(s) with a wrong secret")
            note = f" (the kit refused {' and '.join(notes)})" if notes else ""
            raise CaseFailed(f"the runner sent no Hello within {timeout:.0f}s{note}: {runner.process.tail()}")
        runner.stream = fut.result()
        return runner.stream

    async def shared(self, ctx: CaseContext) -> Runner:
        runner = self._shared
        alive = runner is not None and runner.process.returncode is None
        if alive and runner is not None and runner.stream is not None and not runner.stream.ended.done():
            return runner
        await self._discard_shared()
        self._shared = await ctx.loaded_runner()
        return self._shared

    async def adopt_shared(self, runner: Runner) -> None:
        """Make a runner a case started (and loaded) the shared one."""
        await self._discard_shared()
        self._shared = runner

    async def _discard_shared(self) -> None:
        runner, self._shared = self._shared, None
        if runner is not None:
            await runner.process.kill()


class CaseContext:
    """What a case gets: runners, and waits bounded by the case's deadline."""

    def __init__(self, kit: Kit, deadline: float) -> None:
        self.kit = kit
        self.deadline = deadline
        self.scope: asyncio.Timeout | None = None  # the case's overall timeout, moved by extend()
        self._watched: list[Runner] = []

    def extend(self, seconds: float) -> None:
        """Give the case more time than --timeout: a runner's build (prepare) is not protocol work, and
        compiling a language can take longer than any protocol check should."""
        self.deadline += seconds
        when = self.scope.when() if self.scope is not None else None
        if self.scope is not None and when is not None:
            self.scope.reschedule(when + seconds)

    async def run(self, case: Case) -> str:
        detail = await case(self)
        for runner in self._watched:
            if runner.stream is not None:
                found = runner.stream.take_violations()
                if found:
                    raise CaseFailed("protocol violation: " + "; ".join(found[:3]))
        return detail

    @property
    def remaining(self) -> float:
        return max(0.05, self.deadline - time.monotonic())

    async def shared(self) -> Runner:
        runner = await self.kit.shared(self)
        self.watch(runner)
        return runner

    def watch(self, runner: Runner) -> Runner:
        """Fail the case if this runner's stream recorded a protocol violation during it."""
        if runner not in self._watched:
            self._watched.append(runner)
        return runner

    async def spawn(self, secret: str | None = None, expect: str | None = None) -> Runner:
        return await self.kit.spawn(secret, expect)

    async def connected_runner(self) -> Runner:
        """A fresh runner, connected and welcomed."""
        runner = self.watch(await self.kit.spawn())
        stream = await self.kit.connect(runner, self.deadline)
        stream.welcome(str(self.kit.project), KIT_MAX_MESSAGE_BYTES)
        return runner

    async def loaded_runner(self) -> Runner:
        """A fresh runner, welcomed, with every fixture step loaded."""
        return await self.load(await self.connected_runner())

    async def load(self, runner: Runner) -> Runner:
        """Send LoadSteps for every fixture step and remember which step id has which name."""
        loaded = await self.wait(runner, runner.connected.load_steps(self.kit.step_files), "StepsLoaded")
        runner.steps = {}
        for manifest in loaded.steps:
            name = _config_name(manifest.config_json)
            if name:
                runner.steps[name] = manifest.step_id
        runner.loaded = loaded
        return runner

    async def wait(self, runner: Runner, awaitable: Awaitable[_T], what: str, timeout: float | None = None) -> _T:
        """Await ``awaitable``; fail the case if the runner exits, its stream ends, or time runs out."""
        fut = asyncio.ensure_future(awaitable)
        limit = self.remaining if timeout is None else min(timeout, self.remaining)
        watched: set[asyncio.Future[Any]] = {fut, runner.process.exited}
        violated = runner.stream.violated() if runner.stream is not None else None
        if runner.stream is not None and violated is not None:
            watched |= {runner.stream.ended, violated}
        done, _ = await asyncio.wait(watched, timeout=limit, return_when="FIRST_COMPLETED")
        if violated is not None:
            violated.cancel()
        if fut not in done and done:
            # the runner exited or the stream ended: what it sent before that may still be on its way
            await asyncio.wait({fut}, timeout=0.2)
        if fut.done() and not fut.cancelled() and not isinstance(fut.exception(), ConnectionError):
            return fut.result()  # (re-raises any other error of the awaitable)
        fut.cancel()
        with contextlib.suppress(BaseException):
            await fut
        if violated is not None and violated in done and runner.stream is not None:
            found = runner.stream.take_violations()
            raise CaseFailed(f"protocol violation while the kit waited for {what}: " + "; ".join(found[:3]))
        if runner.process.exited in done:
            raise CaseFailed(
                f"the runner exited with code {runner.process.returncode} while the kit waited for {what}: "
                f"{runner.process.tail()}"
            )
        if runner.stream is not None and runner.stream.ended.done():
            raise CaseFailed(f"the stream ended ({runner.stream.ended.result()}) while the kit waited for {what}")
        raise CaseFailed(f"timed out after {limit:.1f}s waiting for {what}")


def _config_name(config_json: bytes) -> str:
    try:
        config = orjson.loads(config_json)
    except orjson.JSONDecodeError:
        return ""
    name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) else ""
