"""A project folder: where step and stream files are and which runner loads each."""

from __future__ import annotations

import contextlib
import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NewType

from motia_core.errors import ProjectError
from motia_core.logs import Logger

if TYPE_CHECKING:
    from motia_core.runner_registry import RunnerSet

STEP_ROOTS = ("steps", "src")
SKIPPED_DIRS = frozenset({"node_modules", "python_modules", ".venv", "venv", "__pycache__", ".motia", ".git"})
_DB_SUFFIXES = (".db", ".db-wal", ".db-shm")  # under .motia/: the databases, kept 0600
# Motia 0.17 skips Python steps named *.step.py (not importable): said once per file, not silently dropped
_DEPRECATED_PY = re.compile(r"\.(step|stream)\.py$")

# The runner that loads a file: a RunnerDeclaration's name ("node", "python", "go", ...). Languages
# are declared, not coded (plugins.py, runner_registry.py): any name a declaration gives is valid.
RunnerName = NewType("RunnerName", str)


class FileKind(enum.StrEnum):
    """What a discovered file declares."""

    STEP = "step"  # *.step.ts, *_step.py, ...: a step config and its handler
    STREAM = "stream"  # *.stream.ts, *_stream.py, ...: a stream config (no handler)
    STREAM_AUTH = "stream-auth"  # stream-auth.ts, stream_auth.py, ...: the WebSocket auth hook
    PROJECT_CONFIG = "project-config"  # motia.config.ts / .js at the root (project_config.py); not discovered here


@dataclass(frozen=True)
class StepFile:
    """A file a runner loads: a step, a stream definition or the stream auth hook."""

    path: Path
    relative_path: str  # posix, relative to the project root; doubles as the step id
    language: str  # the LanguageDeclaration's name: "typescript", "python", "go", ...
    runtime: RunnerName  # the runner process that loads it
    kind: FileKind = FileKind.STEP

    @property
    def step_id(self) -> str:
        return self.relative_path


@dataclass(frozen=True)
class Discovery:
    files: list[StepFile]
    warnings: list[str]

    def runtimes(self) -> set[RunnerName]:
        return {f.runtime for f in self.files}

    def of_kind(self, kind: FileKind) -> list[StepFile]:
        return [f for f in self.files if f.kind is kind]


def discover(project_dir: Path, runners: RunnerSet | None = None) -> Discovery:
    """Find step and stream files under steps/ and src/, the way Motia 0.x does (spec 1.1, 1.4): a file
    is one when a runner declaration's patterns claim its name (runner_registry.py). Without `runners`:
    the project's (installed entry points plus its motia.config `runners`)."""
    project_dir = project_dir.resolve()
    if runners is None:
        from motia_core.runner_registry import installed_runners

        runners = installed_runners(project_dir)
    files: list[StepFile] = []
    warnings: list[str] = []
    if not any((project_dir / r).is_dir() for r in STEP_ROOTS):
        warnings.append(f"{project_dir} has no steps/ or src/ folder: there are no steps to serve")
    for root_name in STEP_ROOTS:
        root = project_dir / root_name
        if not root.is_dir():
            continue
        for path in sorted(_walk(root)):
            rel = path.relative_to(project_dir).as_posix()
            match = runners.classify(path.name)
            if match is None:
                deprecated = _DEPRECATED_PY.search(path.name)
                if deprecated:
                    what = deprecated.group(1)
                    warnings.append(
                        f"{rel}: Python {what}s named '*.{what}.py' are skipped (as in Motia 0.17); "
                        f"rename the file to '*_{what}.py' with an importable name"
                    )
                continue
            runner = RunnerName(match.runner.name)
            files.append(StepFile(path, rel, match.language.name, runner, match.kind))
    auth = [f for f in files if f.kind is FileKind.STREAM_AUTH]
    for extra in auth[1:]:
        warnings.append(
            f"{extra.relative_path}: ignored: the project already has a stream auth file ({auth[0].relative_path})"
        )
        files.remove(extra)
    return Discovery(files=files, warnings=warnings)


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    for child in root.iterdir():
        if child.is_dir():
            if child.name not in SKIPPED_DIRS and not child.name.startswith("."):
                out.extend(_walk(child))
        elif child.is_file():
            out.append(child)
    return out


def motia_dir(project_dir: Path, logger: Logger | None = None) -> Path:
    """The project's private folder for state, queue and caches, created 0700 on demand. It holds
    the project's state and events, so an existing folder and its databases (with their -wal and
    -shm files) are tightened to 0700 and 0600 when they grant more, and that is logged once."""
    d = project_dir / ".motia"
    if d.exists() and not d.is_dir():
        raise ProjectError(
            f"{d} is not a folder: the core keeps the project's state and events there; "
            "move the file aside and start again"
        )
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"cannot create {d} ({exc.strerror or exc}): make {project_dir} writable") from exc
    changed = [f"{d.name}/ {old:o} → 700" for old in [_tighten(d, 0o700)] if old is not None]
    with contextlib.suppress(OSError):
        for child in sorted(d.iterdir()):
            if child.name.endswith(_DB_SUFFIXES) and child.is_file() and not child.is_symlink():
                old = _tighten(child, 0o600)
                if old is not None:
                    changed.append(f"{child.name} {old:o} → 600")
    if changed and logger is not None:
        logger.warn(
            f"tightened the permissions of {d} ({', '.join(changed)}): it holds the project's state and "
            "events, which only the core's user should read",
            file=str(d),
        )
    return d


def _tighten(path: Path, mode: int) -> int | None:
    """chmod `path` to `mode` when it grants more than that; the old mode when it was changed. A
    file the core's user does not own cannot be changed: it is left as it is."""
    try:
        old = path.stat().st_mode & 0o777
        if not old & ~mode:
            return None
        path.chmod(mode)
    except OSError:
        return None
    return old


def load_dotenv(project_dir: Path) -> dict[str, str]:
    """Read <project>/.env (KEY=VALUE lines; quotes stripped; no interpolation), as Motia does."""
    env_file = project_dir / ".env"
    out: dict[str, str] = {}
    if not env_file.is_file():
        return out
    for raw in env_file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out
