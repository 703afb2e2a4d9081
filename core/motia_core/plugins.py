"""The public API for runner packages: how a language declares itself to motia-core (issue 14).

A language is not coded into the core: a runner package declares it with a `RunnerDeclaration`
(the runner process: how to build and start it, its environment) holding one or more
`LanguageDeclaration`s (which files it loads: step, stream and stream auth file names). The core
finds declarations in two places (runner_registry.py):

  - Python entry points of the group `motia_core.runners` (`RUNNERS_ENTRY_POINT_GROUP`). Each entry
    point loads either a `RunnerDeclaration`, or a zero-argument callable returning one or a list of
    them. The built-in node, python and ruby runners are declared this way in motia-core's own
    pyproject.toml (builtin_runners.py), so a language shipped as a pip package is treated exactly
    like them;
  - the project: the `runners` key of motia.config.ts / .js (docs/configuration.md#runners). A
    project declaration with the same runner name replaces an installed one.

Everything in this module is stable for runner authors; docs/writing-a-runner.md cites it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from motia_core.project import StepFile

__all__ = [
    "PREPARE_TIMEOUT",
    "RUNNERS_ENTRY_POINT_GROUP",
    "ConformanceFixture",
    "LanguageDeclaration",
    "RunnerContext",
    "RunnerDeclaration",
]

RUNNERS_ENTRY_POINT_GROUP = "motia_core.runners"
PREPARE_TIMEOUT = 300.0  # seconds a runner's prepare (build) command may take before it counts as failed


@dataclass(frozen=True)
class LanguageDeclaration:
    """One language a runner loads: which file names are its steps, streams and stream auth hook.

    Patterns are `fnmatch` patterns matched against the file NAME (not its path) of files under the
    project's steps/ and src/ folders, e.g. ``("*.step.ts", "*_step.ts")``. A file matching the step
    or stream patterns of two languages, or two declarations with the same pattern string, is a
    startup error naming both declarations and the pattern.
    """

    name: str
    """The step's language: `StepFile.language`, the `steps` command's column, the Workbench badge
    ("typescript", "javascript", "python", "ruby", "go")."""
    step_patterns: tuple[str, ...]
    """Step files: a config and a handler each."""
    stream_patterns: tuple[str, ...] = ()
    """Stream definition files (a stream config, no handler)."""
    stream_auth_names: tuple[str, ...] = ()
    """Exact file names of the project's stream auth hook in this language, e.g. ``("stream-auth.ts",)``."""
    source_suffixes: tuple[str, ...] = ()
    """Suffixes (with the dot, e.g. ``(".go",)``) of helper and source files whose change reloads this
    language's runner under `motia-core dev` (step files themselves always do)."""

    def patterns(self) -> tuple[str, ...]:
        """Every pattern and exact name this language claims (what conflicts are checked on)."""
        return self.step_patterns + self.stream_patterns + self.stream_auth_names


@dataclass(frozen=True)
class ConformanceFixture:
    """What the conformance kit needs to run its cases against one language of a runner."""

    fixtures_dir: Path
    """A project folder holding the eight fixture steps of the conformance spec (conformance/spec/FIXTURES.md),
    in this language."""
    broken_file: str
    """Project-relative path of the file the `load_error` case writes, e.g. ``"steps/broken_step.go"``."""
    broken_source: str
    """Its content: a file that fails to load (a syntax error, a build failure) in this language."""


@dataclass(frozen=True)
class RunnerContext:
    """What a declaration's `command`, `prepare` and `env` callables are given."""

    project_dir: Path
    """The project's root (absolute); the runner and its prepare command run there."""
    files: tuple[StepFile, ...]
    """The files this runner will load (steps, streams, the stream auth hook), all its languages."""
    python: str
    """The Python to use for Python-based tools: the project's virtualenv (.venv, python_modules,
    venv) when it has one, else the core's own interpreter."""
    strict: bool
    """MOTIA_STRICT: the core runs with --strict (the runner also gets MOTIA_STRICT=1 in its env)."""


def _no_conformance() -> Mapping[str, ConformanceFixture]:
    return {}


@dataclass(frozen=True)
class RunnerDeclaration:
    """A runner process: the languages it loads and how to build, start and configure it.

    Files of all its languages share one long-lived runner process, started with `command(ctx)` in
    the project's folder. Its `Hello.language` (runner.proto) must equal `name`.

    The callables may raise `motia_core.errors.ProjectError` with a clear message (e.g. "ruby is not
    installed ..."): the runner's files then become load errors with that message and the other
    runners keep serving.
    """

    name: str
    """Runner id: "node", "python", "ruby", "go". Must equal the runner's Hello.language."""
    languages: tuple[LanguageDeclaration, ...]
    command: Callable[[RunnerContext], Sequence[str]]
    """argv that starts the runner (cwd = the project). The core adds MOTIA_CORE_ADDRESS and the
    runner's other connection variables to its environment."""
    prepare: Callable[[RunnerContext], Sequence[str]] | None = None
    """argv of a build step, run (cwd = the project) before the runner's first start and before each
    reload under `dev`, within `PREPARE_TIMEOUT` seconds. A non-zero exit makes the runner's files
    load errors: output lines ``path:line[:col]: message`` naming one of its files (project-relative
    or absolute) become that file's error with its line; the other files get "not loaded: the
    <name> runner's build failed (see <first error>)". The runner is not started until a prepare
    succeeds; under `dev` the previous runner keeps serving."""
    env: Callable[[RunnerContext], Mapping[str, str]] | None = None
    """Extra environment for the runner and its prepare command (on top of the project's .env)."""
    conformance: Mapping[str, ConformanceFixture] = field(default_factory=_no_conformance)
    """The conformance kit's fixtures, by language name."""
    description: str = ""
    """One line for `motia-core runners`."""

    def language(self, name: str) -> LanguageDeclaration | None:
        """The declared language called `name`, if this runner has it."""
        return next((lang for lang in self.languages if lang.name == name), None)
