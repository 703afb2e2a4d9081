"""A runner's prepare (build) command: run before its first start and before each `dev` reload.

A prepare that exits non-zero, cannot start or outlives its timeout makes the runner's files load
errors instead of starting the runner (plugins.RunnerDeclaration.prepare). Compilers print errors as
``path:line[:col]: message``; a line whose path is one of the runner's files (project-relative,
``./``-relative or absolute) becomes that file's error with its line, and every other file of the
runner is "not loaded" with a pointer to the first error, so `motia-core steps`, the log and the
Workbench show where the build broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from motia_core.errors import ConfigIssue
from motia_core.logs import Logger
from motia_core.plugins import PREPARE_TIMEOUT
from motia_core.project import StepFile

PROGRESS_EVERY = 5.0  # seconds between "still preparing" lines: a long build is not a hung start
_ERROR_LINE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+)(?::(?P<col>\d+))?:\s*(?P<message>.+)$")
_MAX_OUTPUT = 256 * 1024  # bytes of output kept for the error report; the rest is read and dropped


async def run_prepare(
    runner: str,
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    files: Sequence[StepFile],
    logger: Logger,
    timeout: float = PREPARE_TIMEOUT,
) -> list[ConfigIssue]:
    """Run `argv` in `cwd`; [] when it succeeds, else one load error per file of the runner."""
    started = time.monotonic()
    source = f"runner:{runner}"
    shown = " ".join(argv)
    logger.debug(f"preparing the {runner} runner: {shown}", source=source)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a timeout kills the whole build (compiler children included)
        )
    except OSError as exc:
        why = f"cannot run the {runner} runner's prepare command ({shown}): {exc.strerror or exc}"
        return [ConfigIssue(f.relative_path, "", why) for f in files]
    reader = asyncio.create_task(_read_all(proc.stdout))
    exit_code: int | None = None
    deadline = started + timeout
    while exit_code is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            exit_code = await asyncio.wait_for(asyncio.shield(proc.wait()), min(PROGRESS_EVERY, left))
        except TimeoutError:
            logger.info(f"still preparing the {runner} runner ({time.monotonic() - started:.0f} s)", source=source)
    if exit_code is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(reader), 2.0)
    output = reader.result() if reader.done() else ""
    reader.cancel()
    seconds = time.monotonic() - started
    if exit_code == 0:
        logger.debug(f"prepared the {runner} runner in {seconds * 1000:.0f} ms", source=source)
        return []
    if exit_code is None:
        first = f"its prepare command ({shown}) did not finish within {timeout:g} s and was killed"
        return [ConfigIssue(f.relative_path, "", f"not loaded: the {runner} runner's {first}") for f in files]
    for line in output.splitlines()[-20:]:
        if line.strip():
            logger.warn(line.rstrip(), source=source)
    return build_failure(runner, output, exit_code, cwd, files)


def build_failure(runner: str, output: str, exit_code: int, cwd: Path, files: Sequence[StepFile]) -> list[ConfigIssue]:
    """Load errors from a failed prepare's output (see the module docstring)."""
    by_path: dict[Path, StepFile] = {}
    for f in files:
        by_path[f.path.resolve()] = f
    issues: list[ConfigIssue] = []
    first: str | None = None
    for raw in output.splitlines():
        match = _ERROR_LINE.match(raw.strip())
        if match is None:
            continue
        path = Path(match.group("path"))
        found = by_path.get((path if path.is_absolute() else cwd / path).resolve())
        if found is None:
            continue
        line, message = int(match.group("line")), match.group("message").strip()
        issues.append(ConfigIssue(found.relative_path, "", message, line))
        first = first or f"{found.relative_path}:{line}: {message}"
    if first is None:  # nothing points at a file: the first thing it said, or its exit code
        said = next((ln.strip() for ln in output.splitlines() if ln.strip()), None)
        first = said or f"exit code {exit_code}"
    broken = {i.file for i in issues}
    for f in files:
        if f.relative_path not in broken:
            issues.append(
                ConfigIssue(f.relative_path, "", f"not loaded: the {runner} runner's build failed (see {first})")
            )
    return issues


async def _read_all(stream: asyncio.StreamReader | None) -> str:
    if stream is None:
        return ""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < _MAX_OUTPUT:
            kept += chunk[: _MAX_OUTPUT - len(kept)]
    return kept.decode("utf-8", errors="replace")
