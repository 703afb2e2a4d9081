"""The runner registry: which runner loads which file, from installed and project declarations.

Declarations (plugins.py) come from the `motia_core.runners` entry points of every installed
distribution (motia-core's own node, python and ruby among them) and from the `runners` key of the
project's motia.config.ts / .js (project_runners.py). A project declaration with the name of an
installed one replaces it. The result is a `RunnerSet`, which every part of the core asks instead of
knowing languages itself: discovery (`classify`), the spawn path (`runner`), `dev` (`for_source`),
`motia-core steps` and `motia-core runners`.

Conflicts are startup errors naming both declarations and the pattern: two languages claiming the
same pattern string (checked when the set is built), or one file whose name matches patterns of two
languages (checked by `classify`, when discovery meets such a file).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from motia_core.entry_scan import ScannedEntryPoint, entry_points_of
from motia_core.errors import ProjectError
from motia_core.plugins import RUNNERS_ENTRY_POINT_GROUP, LanguageDeclaration, RunnerDeclaration

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from motia_core.project import FileKind
    from motia_core.project_config import ProjectConfig


class RunnerRegistryError(ProjectError):
    """A runner declaration cannot be used: an entry point that does not load, or two declarations
    claiming one file pattern. motia-core does not start: which runner loads a file must be certain."""


@dataclass(frozen=True)
class InstalledRunner:
    """A declaration and where it came from (`motia-core runners` shows it)."""

    declaration: RunnerDeclaration
    source: str  # "entry point node = motia_core.builtin_runners:node (motia-core 0.1.0)" or "motia.config.js"
    project: bool = False  # declared by the project's motia.config (it replaced any installed one)


@dataclass(frozen=True)
class FileMatch:
    """What a file name is to the registry: its kind, language and runner."""

    kind: FileKind
    language: LanguageDeclaration
    runner: RunnerDeclaration
    pattern: str  # the pattern (or exact stream auth name) that matched


class RunnerSet:
    """The runners a project can use, with lookups by file name, runner name and source suffix."""

    def __init__(self, installed: Sequence[InstalledRunner], notes: Sequence[str] = ()) -> None:
        self.installed: tuple[InstalledRunner, ...] = tuple(installed)
        self.notes: tuple[str, ...] = tuple(notes)  # e.g. a project declaration replacing an installed one
        self._by_name = {r.declaration.name: r for r in self.installed}
        self._check_conflicts()

    def all(self) -> tuple[RunnerDeclaration, ...]:
        return tuple(r.declaration for r in self.installed)

    def runner(self, name: str) -> RunnerDeclaration | None:
        """The declaration of runner `name` ("node", "go", ...), if any."""
        found = self._by_name.get(name)
        return found.declaration if found is not None else None

    def source_of(self, name: str) -> str:
        found = self._by_name.get(name)
        return found.source if found is not None else "?"

    def language(self, name: str) -> tuple[LanguageDeclaration, RunnerDeclaration] | None:
        """The language called `name` ("typescript", "go", ...) and its runner."""
        for decl in self.all():
            lang = decl.language(name)
            if lang is not None:
                return lang, decl
        return None

    def classify(self, name: str) -> FileMatch | None:
        """What the file called `name` declares, in which language; None when no declaration claims it.
        Raises RunnerRegistryError when patterns of two languages match it."""
        from motia_core.project import FileKind

        matches: list[FileMatch] = []
        for decl in self.all():
            for lang in decl.languages:
                hit = _first_match(name, lang.step_patterns)
                kind = FileKind.STEP
                if hit is None:
                    hit, kind = _first_match(name, lang.stream_patterns), FileKind.STREAM
                if hit is None:
                    hit, kind = (name if name in lang.stream_auth_names else None), FileKind.STREAM_AUTH
                if hit is not None:
                    matches.append(FileMatch(kind, lang, decl, hit))
        if len(matches) > 1:
            a, b = matches[0], matches[1]
            raise RunnerRegistryError(
                f"{name} matches two runner declarations: {self._who(a.runner, a.language)} ('{a.pattern}') and "
                f"{self._who(b.runner, b.language)} ('{b.pattern}'); rename the file or narrow one of the patterns"
            )
        return matches[0] if matches else None

    def for_file(self, name: str) -> tuple[LanguageDeclaration, RunnerDeclaration] | None:
        """The language and runner of the file called `name` (a step, stream or stream auth file)."""
        match = self.classify(name)
        return (match.language, match.runner) if match is not None else None

    def for_source(self, name: str) -> set[str]:
        """Runner names whose languages' step files or source suffixes the file `name` is: a change to
        it reloads those runners under `motia-core dev`."""
        out: set[str] = set()
        for decl in self.all():
            for lang in decl.languages:
                if name.endswith(tuple(s for s in lang.source_suffixes if s)) or _first_match(name, lang.patterns()):
                    out.add(decl.name)
        return out

    def _who(self, decl: RunnerDeclaration, lang: LanguageDeclaration) -> str:
        return f"runner '{decl.name}' language '{lang.name}' ({self.source_of(decl.name)})"

    def _check_conflicts(self) -> None:
        claimed: dict[str, tuple[RunnerDeclaration, LanguageDeclaration]] = {}
        languages: dict[str, RunnerDeclaration] = {}
        for decl in self.all():
            for lang in decl.languages:
                other = languages.get(lang.name)
                if other is not None and other is not decl:
                    raise RunnerRegistryError(
                        f"two runner declarations declare the language '{lang.name}': runner '{other.name}' "
                        f"({self.source_of(other.name)}) and runner '{decl.name}' ({self.source_of(decl.name)})"
                    )
                languages[lang.name] = decl
                for pattern in lang.patterns():
                    if pattern in claimed:
                        first = claimed[pattern]
                        raise RunnerRegistryError(
                            f"two runner declarations claim the pattern '{pattern}': {self._who(*first)} and "
                            f"{self._who(decl, lang)}; remove it from one of them"
                        )
                    claimed[pattern] = (decl, lang)


def _first_match(name: str, patterns: Iterable[str]) -> str | None:
    # case-sensitive on every OS: a.STEP.TS is not a step file, as before the registry
    return next((p for p in patterns if fnmatch.fnmatchcase(name, p)), None)


def _distribution(ep: EntryPoint | ScannedEntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def describe_entry_point(ep: EntryPoint | ScannedEntryPoint) -> str:
    return f"entry point {ep.name} = {ep.value} ({_distribution(ep)})"


def load_entry_point(ep: EntryPoint | ScannedEntryPoint) -> list[RunnerDeclaration]:
    """The declarations an entry point of the `motia_core.runners` group gives: a RunnerDeclaration,
    or a zero-argument callable returning one or a list of them. Anything else, or an import that
    fails, is a RunnerRegistryError naming the distribution and the entry point."""
    where = describe_entry_point(ep)
    try:
        target = ep.load()
    except Exception as exc:  # any import-time failure of third-party code: say whose it is
        raise RunnerRegistryError(
            f"{RUNNERS_ENTRY_POINT_GROUP} {where} does not load: {type(exc).__name__}: {exc}; "
            f"reinstall or uninstall {_distribution(ep)}"
        ) from exc
    value: object = target
    if not isinstance(target, RunnerDeclaration) and callable(target):
        try:
            value = target()
        except Exception as exc:
            raise RunnerRegistryError(
                f"{RUNNERS_ENTRY_POINT_GROUP} {where}: calling it failed: {type(exc).__name__}: {exc}"
            ) from exc
    items = list(value) if isinstance(value, list | tuple) else [value]
    bad = [item for item in items if not isinstance(item, RunnerDeclaration)]
    if bad or not items:
        got = type(bad[0]).__name__ if bad else "an empty list"
        raise RunnerRegistryError(
            f"{RUNNERS_ENTRY_POINT_GROUP} {where}: expected a motia_core.plugins.RunnerDeclaration (or a "
            f"callable returning one or a list of them), got {got}"
        )
    return [item for item in items if isinstance(item, RunnerDeclaration)]


def installed_entry_points() -> list[EntryPoint | ScannedEntryPoint]:
    """The installed `motia_core.runners` entry points. Read from the dist-info folders directly when
    sys.path is plain folders (entry_scan.py: no importlib.metadata before the runners spawn, ~30 ms of
    CPU), else through importlib.metadata; both give the same list."""
    return entry_points_of(RUNNERS_ENTRY_POINT_GROUP)


def entry_point_runners(eps: Iterable[EntryPoint | ScannedEntryPoint] | None = None) -> list[InstalledRunner]:
    """Every declaration of the installed `motia_core.runners` entry points (or of `eps`), by name.
    Two installed declarations with one name are an error: neither may silently win."""
    found: dict[str, InstalledRunner] = {}
    chosen = eps if eps is not None else installed_entry_points()
    for ep in sorted(chosen, key=lambda e: e.name):
        for decl in load_entry_point(ep):
            installed = InstalledRunner(decl, describe_entry_point(ep))
            if decl.name in found:
                raise RunnerRegistryError(
                    f"two installed packages declare the runner '{decl.name}': {found[decl.name].source} and "
                    f"{installed.source}; uninstall one of them"
                )
            found[decl.name] = installed
    return list(found.values())


def merge(installed: Sequence[InstalledRunner], project: Sequence[RunnerDeclaration], source: str) -> RunnerSet:
    """The installed runners with the project's declarations on top (same name: the project's wins)."""
    by_name = {r.declaration.name: r for r in installed}
    notes: list[str] = []
    for decl in project:
        old = by_name.get(decl.name)
        if old is not None:
            notes.append(f"{source}: runner '{decl.name}' replaces the installed one ({old.source})")
        by_name[decl.name] = InstalledRunner(decl, source, project=True)
    return RunnerSet(list(by_name.values()), notes)


def installed_runners(
    project_dir: Path | None = None,
    config: ProjectConfig | None | Literal["read"] = "read",
    node_command: Callable[[], list[str]] | None = None,
) -> RunnerSet:
    """The runners for a project: the installed entry points, plus the `runners` of the project's
    motia.config (`config`; "read" evaluates the file when there is one, which costs a Node start).
    Without a project folder: the installed runners only."""
    installed = entry_point_runners()
    if project_dir is None:
        return RunnerSet(installed)
    if config == "read":
        from motia_core import project_config

        config = project_config.read(project_dir.resolve(), node_command or project_config.node_command)
    if config is None:
        return RunnerSet(installed)
    return merge(installed, config.runners, config.file.relative_path)
