"""From a runner declaration to a process the supervisor can start: context, argv, environment, prepare.

The core knows no language here: everything comes from the project's `RunnerSet` (runner_registry.py),
the built-in node, python and ruby runners included (builtin_runners.py).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from motia_core.errors import ConfigIssue, ProjectError
from motia_core.logs import Logger
from motia_core.plugins import RunnerContext, RunnerDeclaration
from motia_core.project import RunnerName, StepFile, load_dotenv
from motia_core.runner_registry import RunnerSet
from motia_core.runners.prepare import run_prepare
from motia_core.runners.supervisor import RunnerSpec

PROJECT_VENVS = (".venv", "python_modules", "venv")  # python_modules: Motia's own Python folder


class RunnerLauncher:
    """Builds `RunnerSpec`s and runs prepare commands for one project's runners."""

    def __init__(self, project_dir: Path, runners: RunnerSet, logger: Logger, *, strict: bool, slots: int) -> None:
        self.project_dir = project_dir
        self.runners = runners
        self.logger = logger
        self.strict = strict
        self.slots = slots

    def python(self) -> str:
        """The project's virtualenv when it has one (.venv or Motia's python_modules), else ours."""
        for venv in PROJECT_VENVS:
            candidate = self.project_dir / venv / "bin" / "python"
            if candidate.exists():
                return str(candidate)
        return sys.executable

    def context(self, files: Sequence[StepFile]) -> RunnerContext:
        return RunnerContext(self.project_dir, tuple(files), self.python(), self.strict)

    def declaration(self, name: str) -> RunnerDeclaration:
        decl = self.runners.runner(name)
        if decl is None:  # a file's runner always comes from the same set; this guards a stale name
            raise ProjectError(f"no runner named '{name}' is installed or declared in motia.config")
        return decl

    def spec(self, name: RunnerName, files: Sequence[StepFile]) -> RunnerSpec:
        """The runner's argv and environment (the project's .env, MOTIA_STRICT, the declaration's env).
        A declaration that cannot start here (node not installed, ...) raises ProjectError."""
        decl = self.declaration(name)
        ctx = self.context(files)
        env = load_dotenv(self.project_dir)
        env["MOTIA_STRICT"] = "1" if self.strict else "0"  # the runners' emit checks (lenient.py)
        if decl.env is not None:
            env.update(decl.env(ctx))
        argv = [str(a) for a in decl.command(ctx)]
        if not argv:
            raise ProjectError(f"the {name} runner's command is empty ({self.runners.source_of(name)})")
        return RunnerSpec(name, argv, str(self.project_dir), env, self.slots)

    async def prepare(self, spec: RunnerSpec, files: Sequence[StepFile]) -> list[ConfigIssue]:
        """Run the declaration's prepare, if any; the files' load errors when it fails, else []."""
        decl = self.declaration(spec.runtime)
        if decl.prepare is None:
            return []
        try:
            argv = [str(a) for a in decl.prepare(self.context(files))]
        except ProjectError as exc:
            return [ConfigIssue(f.relative_path, "", str(exc)) for f in files]
        if not argv:
            return []
        return await run_prepare(spec.runtime, argv, self.project_dir, spec.env, files, self.logger)

    async def ready_spec(self, name: RunnerName, files: Sequence[StepFile]) -> RunnerSpec | list[ConfigIssue]:
        """spec() then prepare(): a spec to start, or the files' load errors."""
        try:
            spec = self.spec(name, files)
        except ProjectError as exc:
            return [ConfigIssue(f.relative_path, "", str(exc)) for f in files]
        issues = await self.prepare(spec, files)
        return issues or spec
