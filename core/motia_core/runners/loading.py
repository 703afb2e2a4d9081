"""The load phase of one language runner: import its step files, and find and quarantine a file
whose import ends the runner process (process.exit / os._exit / exit! at module level).

Fast path: one LoadSteps for all the files. When the process dies (or its stream ends) while that is
outstanding, the next attempt sends one LoadSteps per file and awaits each StepsLoaded, so the file
in flight when the process dies is known. That file is quarantined: logged, reported as an invalid
step (the registry reads `quarantined`), and dropped from `files`, so no later restart imports it
again; the runner then restarts with the rest, on the fast path again. Every such round either
loads one by one or drops one file, so a project with several such files converges. No runner or
protocol change: it only uses LoadSteps as runners already answer it (each call adds its files).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from motia_core.errors import RunnerLost
from motia_core.logs import Logger
from motia_core.project import StepFile
from motia_core.runners.transport import LoadFailure, Manifest, ManifestEntry

if TYPE_CHECKING:  # no grpc before the first runners are spawned (coldstart.py)
    from motia_core.runners.grpc_session import GrpcSession

LOAD_TIMEOUT = 120.0
EXIT_CODE_WAIT = 1.0  # a dead runner's stream usually ends a moment before its exit code arrives


class StepLoading:
    """What one runner imports, and what it must never import again."""

    def __init__(self, language: str, files: list[StepFile], logger: Logger) -> None:
        self.language = language
        self.files = files
        self.quarantined: dict[str, str] = {}  # step id -> why (the registry lists these as invalid)
        self.retry_pending = False  # the last attempt died loading; the next one makes progress
        self._one_by_one = False  # the last fast-path LoadSteps died: find the file responsible
        self._logger = logger

    async def load(self, session: GrpcSession, exited: asyncio.Task[int], stopping: Callable[[], bool]) -> Manifest:
        """Import the files; on a RunnerLost, decide what the next attempt does, then re-raise."""
        self.retry_pending = False
        if not self._one_by_one:
            try:
                return await session.load_steps(self.files, LOAD_TIMEOUT)
            except RunnerLost:
                if stopping() or not await _died(session, exited):
                    raise
                if len(self.files) == 1:
                    self._quarantine(self.files[0], exited)
                elif self.files:
                    self._one_by_one = self.retry_pending = True
                    self._logger.warn(
                        f"the {self.language} runner ended while importing its {len(self.files)} step files; "
                        "loading them one at a time to find the file responsible",
                        source=f"runner:{self.language}",
                    )
                raise
        steps: list[ManifestEntry] = []
        errors: list[LoadFailure] = []
        for file in list(self.files):
            try:
                part = await session.load_steps([file], LOAD_TIMEOUT)
            except RunnerLost:
                if not stopping() and await _died(session, exited):
                    self._quarantine(file, exited)
                raise
            steps.extend(part.steps)
            errors.extend(part.errors)
        self._one_by_one = False
        return Manifest(steps, errors)

    def _quarantine(self, file: StepFile, exited: asyncio.Task[int]) -> None:
        code = exited.result() if exited.done() and not exited.cancelled() else None
        how = "exit code unknown" if code is None else f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        message = f"importing it ended the {self.language} runner process ({how}); it is not served"
        self.quarantined[file.step_id] = message
        self.files = [f for f in self.files if f.step_id != file.step_id]
        self._one_by_one = False
        self.retry_pending = True
        self._logger.error(
            f"{file.relative_path}: {message}", source=f"runner:{self.language}", file=file.relative_path
        )


async def _died(session: GrpcSession, exited: asyncio.Task[int]) -> bool:
    """Did the runner process end (not merely time out, or get cut off by the heartbeat)?"""
    if not exited.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), EXIT_CODE_WAIT)
    if session.unresponsive:
        return False
    return exited.done() or session.closed.done()
