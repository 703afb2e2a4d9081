"""The go runner's declaration for motia-core's runner registry (entry point group motia_core.runners).

This is all motia-core knows about Go: the file patterns, how to build (prepare) and start (command)
the runner, and the conformance fixtures. Nothing in motia-core mentions Go.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from motia_core.plugins import ConformanceFixture, LanguageDeclaration, RunnerContext, RunnerDeclaration
from motia_runner_go.sources import STEP_PATTERNS, STREAM_AUTH_NAMES, STREAM_PATTERNS

CONFORMANCE_DIR = Path(__file__).resolve().parents[2] / "conformance"

GO = LanguageDeclaration(
    name="go",
    step_patterns=STEP_PATTERNS,
    stream_patterns=STREAM_PATTERNS,
    stream_auth_names=STREAM_AUTH_NAMES,
    source_suffixes=(".go",),  # helper files beside the steps are compiled into the same binary
)

# Fails to build: the load_error case expects it reported as the file's load error.
BROKEN_SOURCE = """package steps

import "motia"

func init() {
\tmotia.Event(motia.EventConfig{Name: "Broken", Subscribes: []string{"conformance.broken"}},
\t\tfunc(ctx *motia.Context, input json.RawMessage) error { return undefinedThing })
}
"""


def _launcher(action: str, ctx: RunnerContext) -> Sequence[str]:
    # The core's own interpreter: this package is installed next to motia-core, whatever the project's venv.
    return [sys.executable, "-m", "motia_runner_go", action, "--project", str(ctx.project_dir)]


def _command(ctx: RunnerContext) -> Sequence[str]:
    return _launcher("run", ctx)


def _prepare(ctx: RunnerContext) -> Sequence[str]:
    return _launcher("build", ctx)


def go_runner() -> RunnerDeclaration:
    return RunnerDeclaration(
        name="go",
        languages=(GO,),
        command=_command,
        prepare=_prepare,
        conformance={
            "go": ConformanceFixture(
                fixtures_dir=CONFORMANCE_DIR, broken_file="steps/broken_step.go", broken_source=BROKEN_SOURCE
            )
        },
        description="Go steps (*_step.go), one runner binary built per project (GOPATH mode, Debian Go)",
    )
