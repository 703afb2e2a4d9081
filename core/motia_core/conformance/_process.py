"""Runner processes the kit starts, the way the core starts them, and kills (no orphans).

Each runner gets the core's environment (``MOTIA_CORE_ADDRESS``, ``MOTIA_RUNNER_SECRET``,
``MOTIA_PROJECT_DIR``, ``MOTIA_RUNNER_SLOTS``, and for Python ``MOTIA_CORE_SITE_PACKAGES``), a stdin
pipe, the project as working directory, and its own process group, which the kit kills whole.
Its stdout and stderr are kept (the last lines) to explain a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import Mapping
from pathlib import Path

TAIL_LINES = 30


class RunnerProcess:
    def __init__(self, proc: asyncio.subprocess.Process, label: str, echo: bool) -> None:
        self.proc = proc
        self.label = label
        self.output: deque[str] = deque(maxlen=TAIL_LINES)  # stdout and stderr lines, interleaved
        self.stderr: deque[str] = deque(maxlen=TAIL_LINES)
        self._echo = echo
        self.exited: asyncio.Task[int] = asyncio.create_task(proc.wait())
        self._pumps = [
            asyncio.create_task(self._pump(proc.stdout, "out")),
            asyncio.create_task(self._pump(proc.stderr, "err")),
        ]

    @classmethod
    async def spawn(
        cls, command: list[str], cwd: str, env: Mapping[str, str], label: str, echo: bool = False
    ) -> RunnerProcess:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, **env},
            start_new_session=True,
        )
        return cls(proc, label, echo)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def tail(self, lines: int = 6) -> str:
        """The runner's last output lines, for a failure message."""
        kept = list(self.output)[-lines:]
        return " | ".join(kept) if kept else "(no output)"

    def close_stdin(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()

    async def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the process is still running after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.exited), timeout)
        return self.proc.returncode

    async def kill(self) -> None:
        """Kill the runner's whole process group; nothing it started survives the kit."""
        self.close_stdin()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        await self.wait(5.0)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.gather(*self._pumps, return_exceptions=True), 1.0)

    async def _pump(self, stream: asyncio.StreamReader | None, name: str) -> None:
        if stream is None:
            return
        while True:
            try:
                line = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip()
            if text:
                self.output.append(text)
                if name == "err":
                    self.stderr.append(text)
                if self._echo:
                    sys.stderr.write(f"  [{self.label} {name}] {text}\n")


async def run_prepare(
    argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float, echo: bool = False
) -> tuple[int, list[str]]:
    """Run a runner's prepare (build) command as the core does: cwd = the project, the runner's
    environment, stdout and stderr together. Its exit code (-1 on timeout, 127 when it cannot
    start) and its output lines; a build that outlives ``timeout`` is killed with its process group."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return 127, [f"cannot run {argv[0]!r}: {exc}"]
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return -1, [f"timed out after {timeout:g}s: {' '.join(argv)}"]
    lines = out.decode("utf-8", "replace").splitlines()
    if echo:
        for line in lines:
            sys.stderr.write(f"  [prepare] {line}\n")
    return (proc.returncode if proc.returncode is not None else -1), lines
