"""Importing step files the way Motia does, with nested folders and relative imports working.

* The project root goes first on ``sys.path``, so ``import steps.services.db`` and top-level
  helper packages of the project resolve.
* Each file is imported as the dotted module of its path relative to the project root:
  ``steps/billing/charge_step.py`` -> ``steps.billing.charge_step``. Its parent packages are
  created first (running their ``__init__.py`` when there is one, namespace packages otherwise)
  and ``__package__`` is set, so ``from .models import X`` and ``from ..services import y`` work at
  any depth (the fix for Motia issue #736).
* A path part that is not an identifier is sanitized for the module name only (``my-api_step.py``
  -> ``my_api_step``, ``01-intro/`` -> ``_01_intro``); the package still points at the real folder.
* The project's own ``.py`` files (step files and helpers alike) are compiled from source on every
  import, through a path hook limited to the project's folders: a ``__pycache__`` entry keyed on
  mtime and size can be stale after an edit within the same second. The named step files are
  executed afresh on every load. If any project file imported so far changed (or vanished) since
  the previous load, every module imported from the project's own files is forgotten first, so a
  hot reload also picks up edited helpers; when nothing changed, helpers stay shared between the
  steps. Installed packages (anything under ``site-packages``) are always kept.
* A file that fails never stops the others: it becomes a :class:`LoadFailure` with the traceback.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.machinery
import importlib.util
import keyword
import os
import re
import sys
import traceback
import types
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from motia._execution import StepCallable
from motia._tracebacks import format_user_traceback

from .config_json import serialize_config
from .errors import ConfigNotJsonError

if TYPE_CHECKING:  # importlib.abc imports importlib.resources, tempfile, random... (~10 ms at start)
    import importlib.abc

_RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_DIRS = frozenset({"site-packages", "dist-packages", "node_modules"})
_PROTECTED = frozenset({"motia", "motia_runner", "motia_core", "__main__"})
_NOT_WORD = re.compile(r"\W", re.UNICODE)


@dataclasses.dataclass(frozen=True)
class StepSource:
    """A file the core asks for (``StepFile``)."""

    step_id: str
    path: str  # absolute
    relative_path: str  # posix, relative to the project root


@dataclasses.dataclass(frozen=True)
class LoadedStep:
    """A step file that imported and exported a config."""

    step_id: str
    path: str
    module_name: str
    config: Mapping[str, Any]
    config_json: bytes
    handler: StepCallable | None
    middleware: tuple[StepCallable, ...]


@dataclasses.dataclass(frozen=True)
class LoadFailure:
    """A step file that did not load (``LoadError``)."""

    step_id: str
    error_type: str
    message: str
    stack: str


def sanitize(part: str) -> str:
    """A valid identifier for one dotted-name part."""
    name = _NOT_WORD.sub("_", part) or "_"
    if name[0].isdigit():
        name = f"_{name}"
    if keyword.iskeyword(name):
        name = f"{name}_"
    return name


def _stat(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


class _FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the source every time: a step file is never served from a stale bytecode cache."""

    def get_code(self, fullname: str) -> types.CodeType:
        return self.source_to_code(self.get_data(self.path), self.path)


class StepLoader:
    """Imports step files of one project; keeps nothing but the module names it handed out."""

    def __init__(self, project_dir: str) -> None:
        self.project_dir = _norm(project_dir)
        self._names: dict[str, str] = {}  # module name -> file it was given to
        self._hook_installed = False
        self._imported: dict[str, tuple[int, int] | None] = {}  # project file -> (mtime_ns, size) when loaded

    # -- public -----------------------------------------------------------------------------------

    def load(self, sources: Sequence[StepSource]) -> tuple[list[LoadedStep], list[LoadFailure]]:
        """Import each file afresh; never raises for a file's own errors."""
        try:
            self._prepare()
        except Exception as exc:  # pragma: no cover - defensive: report it on every file
            stack = format_user_traceback(exc)
            message = f"the runner could not prepare the import: {type(exc).__name__}: {exc}"
            return [], [LoadFailure(source.step_id, "RunnerError", message, stack) for source in sources]
        loaded: list[LoadedStep] = []
        failed: list[LoadFailure] = []
        for source in sources:
            try:
                result = self._load_one(source)
            except Exception as exc:  # e.g. a config mapping whose items() raises
                result = self._failure(source, exc)
            if isinstance(result, LoadedStep):
                loaded.append(result)
            else:
                failed.append(result)
        self._imported = {path: _stat(path) for path in self._project_module_files()}
        return loaded, failed

    def module_name(self, source: StepSource) -> str:
        """The dotted module name a file is imported as (unique per file)."""
        parts = self._relative_parts(source)
        parts[-1] = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
        name = ".".join(sanitize(part) for part in parts)
        path = _norm(source.path)
        candidate, counter = name, 1
        while self._names.get(candidate, path) != path:  # another file already has this name
            counter += 1
            candidate = f"{name}_{counter}"
        self._names[candidate] = path
        return candidate

    # -- internals --------------------------------------------------------------------------------

    def _relative_parts(self, source: StepSource) -> list[str]:
        relative = source.relative_path or os.path.relpath(source.path, self.project_dir)
        parts = [part for part in relative.replace(os.sep, "/").split("/") if part not in ("", ".")]
        if not parts or ".." in parts or os.path.isabs(relative):
            # Outside the project: import it standalone under a private top-level name.
            return ["_motia_external", os.path.basename(source.path)]
        return parts

    def _prepare(self) -> None:
        if not sys.path or _norm(sys.path[0]) != self.project_dir:
            sys.path.insert(0, self.project_dir)
        if not self._hook_installed:
            sys.path_hooks.insert(0, self._path_hook)
            self._hook_installed = True
        for entry in list(sys.path_importer_cache):
            if self._is_project_path(entry):
                del sys.path_importer_cache[entry]
        if any(_stat(path) != seen for path, seen in self._imported.items()):
            self._forget_project_modules()
        importlib.invalidate_caches()

    def _project_module_files(self) -> set[str]:
        files: set[str] = set()
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and self._is_project_file(file):
                files.add(file)
        return files

    def _path_hook(self, entry: str) -> importlib.abc.PathEntryFinder:
        """A finder whose ``.py`` files compile from source, for the project's own folders only."""
        if not self._is_project_path(entry):
            raise ImportError("not a project folder")  # let the next hook handle it
        return importlib.machinery.FileFinder(
            entry,
            (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            (_FreshSourceLoader, importlib.machinery.SOURCE_SUFFIXES),
            (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
        )

    def _is_project_file(self, location: str) -> bool:
        path = _norm(location)
        if not path.startswith(self.project_dir + os.sep):
            return False
        return not _LIBRARY_DIRS.intersection(path[len(self.project_dir) :].split(os.sep))

    def _is_project_path(self, entry: str) -> bool:
        if not isinstance(entry, str) or not entry:
            return False
        return _norm(entry) == self.project_dir or self._is_project_file(entry)

    def _forget_project_modules(self) -> None:
        forget: list[str] = []
        for name, module in list(sys.modules.items()):
            if name.partition(".")[0] in _PROTECTED or module is None:
                continue
            file = getattr(module, "__file__", None)
            try:
                locations = [file] if isinstance(file, str) else list(getattr(module, "__path__", None) or [])
            except Exception:  # a namespace path whose parent package is gone: decided by its parent below
                continue
            if locations and all(isinstance(loc, str) and self._is_project_file(loc) for loc in locations):
                forget.append(name)
        prefixes = tuple(f"{name}." for name in forget)
        for name in list(sys.modules):
            if name in forget or (prefixes and name.startswith(prefixes)):
                del sys.modules[name]

    def _load_one(self, source: StepSource) -> LoadedStep | LoadFailure:
        name = self.module_name(source)
        try:
            module = self._import(name, source)
        except BaseException as exc:  # SystemExit and friends from module code too
            if isinstance(exc, KeyboardInterrupt):
                raise
            return self._failure(source, exc)
        config = getattr(module, "config", None)
        if config is None:
            return LoadFailure(source.step_id, "ConfigError", "no `config` export", "")
        if not isinstance(config, Mapping):
            message = f"`config` must be a dict, got {type(config).__name__}"
            return LoadFailure(source.step_id, "ConfigError", message, "")
        try:
            config_json = serialize_config(config)
        except ConfigNotJsonError as exc:
            return LoadFailure(source.step_id, "ConfigError", str(exc), "")
        handler = getattr(module, "handler", None)
        entries = config.get("middleware")
        if not isinstance(entries, (list, tuple)):
            entries = ()
        middleware = tuple(StepCallable.of(entry) for entry in entries if callable(entry))
        return LoadedStep(
            step_id=source.step_id,
            path=source.path,
            module_name=name,
            config=config,
            config_json=config_json,
            handler=StepCallable.of(handler) if callable(handler) else None,
            middleware=middleware,
        )

    def _import(self, name: str, source: StepSource) -> types.ModuleType:
        parent_name, _, leaf = name.rpartition(".")
        if parent_name:
            self._ensure_packages(parent_name, os.path.dirname(os.path.abspath(source.path)))
        loader = _FreshSourceLoader(name, source.path)
        spec = importlib.util.spec_from_file_location(name, source.path, loader=loader)
        if spec is None:  # pragma: no cover - only for paths without a usable suffix
            raise ImportError(f"cannot import {source.path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            loader.exec_module(module)
        except BaseException:
            if sys.modules.get(name) is module:
                del sys.modules[name]
            raise
        if parent_name and parent_name in sys.modules:
            setattr(sys.modules[parent_name], leaf, module)
        return module

    def _ensure_packages(self, dotted: str, directory: str) -> None:
        """Create ``dotted`` and its parents as packages of ``directory`` and its parents."""
        names = dotted.split(".")
        dirs: list[str] = []
        for _ in names:
            dirs.append(directory)
            directory = os.path.dirname(directory)
        dirs.reverse()
        for index in range(len(names)):
            self._ensure_package(".".join(names[: index + 1]), dirs[index])

    def _ensure_package(self, name: str, directory: str) -> None:
        existing = sys.modules.get(name)
        if existing is not None:
            paths = getattr(existing, "__path__", None) or []
            if any(_norm(path) == _norm(directory) for path in paths):
                return
        init = os.path.join(directory, "__init__.py")
        spec: importlib.machinery.ModuleSpec | None
        if os.path.isfile(init):
            spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[directory])
        else:
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [directory]
        if spec is None:  # pragma: no cover
            raise ImportError(f"cannot create package {name} for {directory}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            if spec.loader is not None:
                spec.loader.exec_module(module)
        except BaseException:
            if sys.modules.get(name) is module:
                del sys.modules[name]
            raise
        parent, _, leaf = name.rpartition(".")
        if parent and parent in sys.modules:
            setattr(sys.modules[parent], leaf, module)

    def _failure(self, source: StepSource, exc: BaseException) -> LoadFailure:
        location = self._location(exc)
        text = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or str(exc))
        message = f"{text} ({location})" if location else text
        stack = format_user_traceback(exc, internal_dirs=(_RUNNER_DIR,))
        return LoadFailure(source.step_id, type(exc).__name__, message, stack)

    def _location(self, exc: BaseException) -> str:
        """``file:line`` of the error in the project's own code (project-relative)."""
        if isinstance(exc, SyntaxError) and exc.filename:
            return f"{self._display(exc.filename)}:{exc.lineno}"
        frames: Sequence[traceback.FrameSummary] = traceback.extract_tb(exc.__traceback__)
        for frame in reversed(frames):
            if self._is_project_file(frame.filename):
                return f"{self._display(frame.filename)}:{frame.lineno}"
        return ""

    def _display(self, path: str) -> str:
        normalized = _norm(path)
        if normalized.startswith(self.project_dir + os.sep):
            return normalized[len(self.project_dir) + 1 :].replace(os.sep, "/")
        return path
