"""What `motia-core dev` watches, and which runners a change reloads.

The rule is deliberately coarse and sound: any source file of a language (a step or a helper it
imports, anywhere under steps/ or src/) reloads that language's runner. Which suffixes are a
language's sources is declared, not coded: LanguageDeclaration.source_suffixes (plugins.py). A precise import graph
would reload less, but a missed edge would serve stale code; a whole runner reload costs one runner
start (docs/dev.md#the-dev-loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from motia_core.logs import Logger
from motia_core.project import RunnerName
from motia_core.project_config import CONFIG_RUNNER
from motia_core.runner_registry import RunnerSet, installed_runners

WATCHED_DIRS = ("steps", "src")  # where discovery looks for steps (project.discover) and helpers live
ROOT_FILES = (".env", "motia.config.ts", "motia.config.js")  # at the project's root
IGNORED_DIRS = frozenset({"node_modules", "__pycache__", ".motia", ".git", ".venv", "venv", "python_modules", "dist"})
DEBOUNCE_MS = 80  # one save is often several writes (truncate, write, rename): one reload for all


@dataclass
class Change:
    """One debounced batch of changed files: the runtimes to reload and the files that say why."""

    runtimes: set[RunnerName] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)  # relative to the project, for the log line
    notes: list[str] = field(default_factory=list)  # what a reload cannot apply (motia.config storage)


def classify(
    project_dir: Path, paths: Iterable[Path], present: set[RunnerName], runners: RunnerSet | None = None
) -> Change:
    """Which of the `present` runtimes (those with a runner, or with files now) each path reloads.
    `runners`: the project's runner set (default: the installed runners)."""
    runners = runners if runners is not None else installed_runners()
    change = Change()
    for path in sorted(set(paths)):
        try:
            rel = path.resolve().relative_to(project_dir)
        except ValueError:
            continue
        if any(part in IGNORED_DIRS for part in rel.parts):
            continue
        if rel.as_posix() == ".env":  # every runner gets the project's .env as its environment
            change.runtimes |= present
        elif rel.name.startswith("motia.config.") and len(rel.parts) == 1:
            change.runtimes |= present & {CONFIG_RUNNER}  # it runs streamAuth in the Node runner
            change.notes.append(
                f"{rel}: its storage settings (redis) and runners apply at the next start of motia-core dev"
            )
        elif owners := {RunnerName(r) for r in runners.for_source(rel.name)} & present:
            change.runtimes |= owners
        else:
            continue
        change.paths.append(rel.as_posix())
    return change


def watched(project_dir: Path) -> list[Path]:
    """steps/, src/ (whole trees) and the root files that exist now. A folder created later (a first
    src/) is not seen until the next start: watching the project's root recursively would put an
    inotify watch on every folder of node_modules."""
    out = [project_dir / d for d in WATCHED_DIRS if (project_dir / d).is_dir()]
    out += [project_dir / f for f in ROOT_FILES if (project_dir / f).is_file()]
    return out


def _keep(_change: object, path: str) -> bool:
    return not any(part in IGNORED_DIRS for part in Path(path).parts)


async def watch(
    project_dir: Path,
    present: Callable[[], set[RunnerName]],
    on_change: Callable[[Change], Awaitable[None]],
    stop: asyncio.Event,
    logger: Logger,
    debounce_ms: int = DEBOUNCE_MS,
    runners: RunnerSet | None = None,
) -> None:
    """Call `on_change` for each debounced batch until `stop` is set. Batches that arrive while
    on_change runs are merged into the next call: reloads never overlap and none is lost."""
    from watchfiles import awatch  # late: only `dev` needs it

    roots = watched(project_dir)
    if not roots:
        logger.warn(f"nothing to watch in {project_dir}: no steps/ or src/ folder")
        await stop.wait()
        return
    logger.info("watching " + ", ".join(str(r.relative_to(project_dir)) for r in roots) + " for changes")
    async for batch in awatch(*roots, watch_filter=_keep, debounce=debounce_ms, step=20, stop_event=stop):
        change = classify(project_dir, (Path(p) for _, p in batch), present(), runners)
        if change.runtimes:
            await on_change(change)
