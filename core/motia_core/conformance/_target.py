"""What the kit runs against: a runner declaration, the language under test, fixtures, a broken file.

Every run goes through a `RunnerDeclaration` (motia_core.plugins), the same type the core spawns
runners from. ``--lang X`` takes it from the runner registry (installed entry points, e.g. the
built-in node, python and ruby, or a pip-installed Go runner); ``--runner CMD --fixtures DIR``
builds one on the spot for a runner that is registered nowhere yet. Flags given next to ``--lang``
override the declaration's command, fixtures and broken file.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from motia_core.errors import ProjectError
from motia_core.plugins import ConformanceFixture, LanguageDeclaration, RunnerDeclaration
from motia_core.runner_registry import RunnerSet, installed_runners

# Motia's naming of step files (echo.step.ts, echo_step.py): the fixture files of a language that no
# declaration describes yet, unless --step-pattern says otherwise.
CONVENTIONAL_PATTERNS = ("*.step.*", "*_step.*")
UNNAMED = "unnamed"  # the runner and language of --runner/--fixtures without --lang (Hello.language unchecked)
BROKEN_DIR = "steps"  # where --broken FILE is written in the fixtures copy


class TargetError(ProjectError):
    """The kit cannot start: an unknown language, a missing fixture folder, an empty command."""


@dataclass(frozen=True)
class Target:
    runner: RunnerDeclaration  # its command, prepare and env start the runner; its name is Hello.language
    language: str  # the language under test (a LanguageDeclaration of `runner`)
    fixtures_dir: Path  # a project folder with the fixture steps of spec/fixtures.json
    broken: tuple[str, str] | None  # (project-relative path, content) for load_error; None: skipped
    check_name: bool  # Hello.language must equal runner.name (False: any non-empty name)
    source: str  # where the declaration came from, for the report

    @property
    def declaration(self) -> LanguageDeclaration:
        lang = self.runner.language(self.language)
        assert lang is not None
        return lang


def split_command(command: str | Sequence[str]) -> list[str]:
    """A shell-style string ("node dist/runner.cjs") or an argv, as a list (no shell runs it). The
    runner starts in the fixtures copy, so relative paths that exist here are made absolute."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    return [os.path.abspath(a) if "/" in a and not os.path.isabs(a) and os.path.exists(a) else a for a in argv]


def resolve(
    lang: str | None,
    runner: str | Sequence[str] | None,
    fixtures: Path | None,
    broken: Path | None,
    step_patterns: Sequence[str] = (),
    runners: RunnerSet | None = None,
) -> Target:
    """The target for the command line's flags (see the module docstring)."""
    decl: RunnerDeclaration | None = None
    language = lang
    source = "--runner"
    if lang is not None:
        found = find(lang, runners if runners is not None else installed_runners())
        if found is not None:
            decl, language = found[1], found[0].name
            source = f"runner '{decl.name}' from the registry"
        elif runner is None or fixtures is None:
            raise TargetError(
                f"no installed runner declares the language or runner {lang!r} "
                f"({_known(runners)}); register it (docs/writing-a-runner.md) or pass --runner and --fixtures"
            )
    if decl is None:
        if runner is None or fixtures is None:
            raise TargetError("pass --lang NAME (a registered language), or --runner CMD and --fixtures DIR")
        name = language or UNNAMED
        patterns = tuple(step_patterns) or CONVENTIONAL_PATTERNS
        decl = RunnerDeclaration(name, (LanguageDeclaration(name, patterns),), command=lambda ctx: [])
        language = name
    assert language is not None
    fixture = decl.conformance.get(language)
    if step_patterns:
        lang_decl = LanguageDeclaration(language, tuple(step_patterns))
        decl = dataclasses.replace(decl, languages=(lang_decl,))
    if runner is not None:
        argv = split_command(runner)
        if not argv:
            raise TargetError("--runner is empty")
        decl = dataclasses.replace(decl, command=lambda ctx: argv)
    fixtures_dir = fixtures or (fixture.fixtures_dir if fixture else None)
    if fixtures_dir is None:
        raise TargetError(
            f"runner '{decl.name}' declares no conformance fixtures for {language!r} "
            "(RunnerDeclaration.conformance); pass --fixtures DIR"
        )
    fixtures_dir = fixtures_dir.resolve()
    if not fixtures_dir.is_dir():
        raise TargetError(f"no fixture project at {fixtures_dir}")
    return Target(
        runner=decl,
        language=language,
        fixtures_dir=fixtures_dir,
        broken=_broken(broken, fixture),
        check_name=lang is not None,
        source=source,
    )


def find(name: str, runners: RunnerSet) -> tuple[LanguageDeclaration, RunnerDeclaration] | None:
    """A language by its name ("typescript"), its runner's name when that runner has one language
    ("python"), or the extension of its step files ("ts", "py"): one match or TargetError."""
    found = runners.language(name)
    if found is not None:
        return found
    decl = runners.runner(name)
    if decl is not None:
        if len(decl.languages) != 1:
            names = ", ".join(lang.name for lang in decl.languages)
            raise TargetError(f"the {name} runner loads several languages ({names}): pass one of them to --lang")
        return decl.languages[0], decl
    by_suffix = [
        (lang, d)
        for d in runners.all()
        for lang in d.languages
        if any(p.endswith(f".{name}") for p in lang.step_patterns)
    ]
    if len(by_suffix) > 1:
        names = ", ".join(lang.name for lang, _ in by_suffix)
        raise TargetError(f"--lang {name} is the step file extension of several languages ({names}): name one")
    return by_suffix[0] if by_suffix else None


def _known(runners: RunnerSet | None) -> str:
    names = [lang.name for d in (runners or installed_runners()).all() for lang in d.languages]
    return "installed: " + (", ".join(names) or "none")


def _broken(path: Path | None, fixture: ConformanceFixture | None) -> tuple[str, str] | None:
    if path is not None:
        try:
            return f"{BROKEN_DIR}/{path.name}", path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TargetError(f"cannot read --broken {path}: {exc.strerror or exc}") from exc
    if fixture is not None:
        return fixture.broken_file, fixture.broken_source
    return None
