"""The runners motia-core ships (node, python, ruby), declared like any third-party runner.

They reach the core through the `motia_core.runners` entry points of motia-core's own pyproject.toml,
the same path a pip-installed language takes (plugins.py, runner_registry.py): nothing else in the
core knows their names or file patterns.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
from collections.abc import Mapping, Sequence
from pathlib import Path

from motia_core import paths
from motia_core.errors import ProjectError
from motia_core.plugins import ConformanceFixture, LanguageDeclaration, RunnerContext, RunnerDeclaration

CONFORMANCE_FIXTURES = Path(__file__).resolve().parent / "conformance" / "fixtures"


def _auth_names(ext: str, *, dash: bool = True) -> tuple[str, ...]:
    # stream-auth.<ext> and stream_auth.<ext>; Python has only the importable underscore form
    return (f"stream-auth.{ext}", f"stream_auth.{ext}") if dash else (f"stream_auth.{ext}",)


# -- node: TypeScript and JavaScript share one runner process ------------------------------------

TYPESCRIPT = LanguageDeclaration(
    name="typescript",
    step_patterns=("*.step.ts", "*_step.ts"),
    stream_patterns=("*.stream.ts", "*_stream.ts"),
    stream_auth_names=_auth_names("ts"),
    source_suffixes=(".ts", ".tsx", ".mts", ".cts"),
)
JAVASCRIPT = LanguageDeclaration(
    name="javascript",
    step_patterns=("*.step.js", "*_step.js"),
    stream_patterns=("*.stream.js", "*_stream.js"),
    stream_auth_names=_auth_names("js"),
    # .json: a helper's data file or package.json; the bundles read them at load time
    source_suffixes=(".js", ".jsx", ".mjs", ".cjs", ".json"),
)


def _node_command(_ctx: RunnerContext) -> Sequence[str]:
    node = shutil.which("node")
    if node is None:
        raise ProjectError("node is not installed (TypeScript/JavaScript steps need Node.js 20+)")
    return [node, str(paths.node_runner())]


node = RunnerDeclaration(
    name="node",
    languages=(TYPESCRIPT, JAVASCRIPT),
    command=_node_command,
    conformance={
        "typescript": ConformanceFixture(
            CONFORMANCE_FIXTURES / "typescript",
            "steps/broken.step.ts",
            "export const config = { type: 'event', name: 'Broken'\n\nexport const handler = async (input: => {}\n",
        ),
        "javascript": ConformanceFixture(
            CONFORMANCE_FIXTURES / "javascript",
            "steps/broken.step.js",
            "const config = { type: 'event', name: 'Broken'\n\nconst handler = async (input => {}\n"
            "module.exports = { config, handler }\n",
        ),
    },
    description="TypeScript and JavaScript steps (Node.js 20+, bundled with esbuild)",
)

# -- python ----------------------------------------------------------------------------------------

PYTHON = LanguageDeclaration(
    name="python",
    # *_step.py only: Motia 0.17 skips *.step.py (not importable); discovery says so (project.py)
    step_patterns=("*_step.py",),
    stream_patterns=("*_stream.py",),
    stream_auth_names=_auth_names("py", dash=False),
    source_suffixes=(".py",),
)


def _python_bootstrap() -> str:
    spec = importlib.util.find_spec("motia_runner")
    if spec is None or not spec.submodule_search_locations:
        raise ProjectError("the Python runner package (motia_runner) is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bootstrap.py")


def _python_command(ctx: RunnerContext) -> Sequence[str]:
    return [ctx.python, _python_bootstrap()]


def python_env(_ctx: RunnerContext | None = None) -> Mapping[str, str]:
    """Where the runner finds grpc, protobuf and our packages when it runs in a project's venv."""
    found: list[str] = []
    for name in ("motia_core", "motia", "motia_runner"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            parent = str(Path(next(iter(spec.submodule_search_locations))).parent)
            if parent not in found:
                found.append(parent)
    for p in site.getsitepackages():
        if p not in found:
            found.append(p)
    return {"MOTIA_CORE_SITE_PACKAGES": os.pathsep.join(found)}


python = RunnerDeclaration(
    name="python",
    languages=(PYTHON,),
    command=_python_command,
    env=python_env,
    conformance={
        "python": ConformanceFixture(
            CONFORMANCE_FIXTURES / "python",
            "steps/broken_step.py",
            'config = {"type": "event", "name": "Broken",\n\ndef handler(input, context:\n    pass\n',
        ),
    },
    description="Python steps (the project's .venv / python_modules / venv when it has one)",
)

# -- ruby ------------------------------------------------------------------------------------------

RUBY = LanguageDeclaration(
    name="ruby",
    step_patterns=("*.step.rb", "*_step.rb"),
    stream_patterns=("*.stream.rb", "*_stream.rb"),
    stream_auth_names=_auth_names("rb"),
    source_suffixes=(".rb",),
)


def _ruby_command(_ctx: RunnerContext) -> Sequence[str]:
    ruby = shutil.which("ruby")
    if ruby is None:
        raise ProjectError("ruby is not installed (Ruby steps need Debian's ruby and ruby-grpc packages)")
    return [ruby, *_ruby_jit_flags(), str(paths.ruby_runner())]


def _ruby_jit_flags() -> list[str]:
    """YJIT (Ruby 3.1+): the runner's CPU per no-op request measured 5-26 % lower. Its code area
    is capped at 4 MiB because Ruby 3.1 makes the whole area resident (the default 256 MiB took
    the runner from 30 to 293 MB RSS; 2, 4 and 8 MiB measured alike). Flags rather than
    RUBY_YJIT_ENABLE/RUBYOPT, which the processes a handler starts would inherit.
    MOTIA_RUBY_YJIT=0 leaves it off (runners/ruby/README.md, "YJIT")."""
    if os.environ.get("MOTIA_RUBY_YJIT") == "0":
        return []
    return ["--yjit", "--yjit-exec-mem-size=4"]


ruby = RunnerDeclaration(
    name="ruby",
    languages=(RUBY,),
    command=_ruby_command,
    conformance={
        "ruby": ConformanceFixture(
            CONFORMANCE_FIXTURES / "ruby",
            "steps/broken_step.rb",
            "CONFIG = { 'type' => 'event', 'name' => 'Broken',\n\ndef handler(input, ctx\n  end end\n",
        ),
    },
    description="Ruby steps (Debian's ruby 3.1 and ruby-grpc)",
)
