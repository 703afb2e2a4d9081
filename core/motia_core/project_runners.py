"""The `runners` key of motia.config.ts / .js: runner declarations written by the project itself.

    export default config({
      runners: {
        go: {
          languages: [{ name: 'go', stepPatterns: ['*_step.go'], sourceSuffixes: ['.go'] }],
          command: ['{project}/.motia/go-runner'],
          prepare: ['go', 'build', '-o', '{project}/.motia/go-runner', './steps'],
          env: { GOFLAGS: '-mod=mod' },
          description: 'Go steps',
        },
      },
    })

Strings of `command`, `prepare` and `env` may hold `{project}` (the project's absolute path) and
`{python}` (the project's Python: its virtualenv, else the core's). A malformed value is a
`FieldError` with the path of the value (``runners.go.command[0]``), which project_config.py turns
into a startup error naming the file (docs/configuration.md#runners).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from motia_core.plugins import LanguageDeclaration, RunnerContext, RunnerDeclaration

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_RUNNER_KEYS = frozenset({"languages", "command", "prepare", "env", "description"})
_LANGUAGE_KEYS = {
    "name": "name",
    "stepPatterns": "step_patterns",
    "streamPatterns": "stream_patterns",
    "streamAuthNames": "stream_auth_names",
    "sourceSuffixes": "source_suffixes",
}


class FieldError(Exception):
    """One malformed value of the `runners` key: where (`runners.go.command[0]`) and what was expected."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _kind(value: object) -> str:
    if isinstance(value, dict) and "$function" in value:
        return "a function"
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )


def _strings(value: object, where: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise FieldError(where, f"expected an array of strings, got {_kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise FieldError(f"{where}[{i}]", f"expected a non-empty string, got {_kind(item)}")
    if not value and not allow_empty:
        raise FieldError(where, "expected at least one string")
    return tuple(value)


def parse(value: object) -> list[RunnerDeclaration]:
    """The declarations of a `runners` value (the evaluated JSON of the config's default export)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise FieldError(
            "runners", f"expected an object {{ <runner name>: {{ languages, command, ... }} }}, got {_kind(value)}"
        )
    return [_runner(name, item) for name, item in value.items()]


def _runner(name: str, value: object) -> RunnerDeclaration:
    where = f"runners.{name}"
    if not _NAME.fullmatch(name):
        raise FieldError(where, "a runner name is lower-case letters, digits, '-' and '_', starting with a letter")
    if not isinstance(value, dict):
        raise FieldError(
            where, f"expected an object {{ languages, command, prepare?, env?, description? }}, got {_kind(value)}"
        )
    unknown = sorted(set(value) - _RUNNER_KEYS)
    if unknown:
        raise FieldError(f"{where}.{unknown[0]}", f"unknown key; expected one of {', '.join(sorted(_RUNNER_KEYS))}")
    languages = value.get("languages")
    if not isinstance(languages, list) or not languages:
        raise FieldError(f"{where}.languages", f"expected a non-empty array of languages, got {_kind(languages)}")
    langs = tuple(_language(f"{where}.languages[{i}]", item) for i, item in enumerate(languages))
    if "command" not in value:
        raise FieldError(f"{where}.command", "missing: the argv that starts the runner, e.g. ['./bin/runner']")
    command = _strings(value["command"], f"{where}.command")
    prepare = _strings(value["prepare"], f"{where}.prepare") if value.get("prepare") is not None else None
    env = _env(value.get("env"), f"{where}.env")
    description = value.get("description", "")
    if not isinstance(description, str):
        raise FieldError(f"{where}.description", f"expected a string, got {_kind(description)}")
    return RunnerDeclaration(
        name=name,
        languages=langs,
        command=_Argv(command),
        prepare=_Argv(prepare) if prepare is not None else None,
        env=_Env(env) if env else None,
        description=description or "declared in the project's motia.config",
    )


def _language(where: str, value: object) -> LanguageDeclaration:
    if not isinstance(value, dict):
        raise FieldError(where, f"expected an object {{ name, stepPatterns, ... }}, got {_kind(value)}")
    unknown = sorted(set(value) - set(_LANGUAGE_KEYS))
    if unknown:
        raise FieldError(f"{where}.{unknown[0]}", f"unknown key; expected one of {', '.join(_LANGUAGE_KEYS)}")
    name = value.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FieldError(f"{where}.name", f"expected a lower-case language name such as 'go', got {name!r}")
    if "stepPatterns" not in value:
        raise FieldError(f"{where}.stepPatterns", "missing: file name patterns of its steps, e.g. ['*_step.go']")
    fields: dict[str, Any] = {"name": name}
    for key, attr in _LANGUAGE_KEYS.items():
        if key != "name" and key in value:
            fields[attr] = _strings(value[key], f"{where}.{key}", allow_empty=key != "stepPatterns")
    for i, pattern in enumerate(fields.get("step_patterns", ())):
        if "/" in pattern:
            raise FieldError(f"{where}.stepPatterns[{i}]", "patterns match the file name, not a path: drop the '/'")
    return LanguageDeclaration(**fields)


def _env(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(where, f"expected an object of strings, got {_kind(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise FieldError(f"{where}.{key}", f"expected a string, got {_kind(item)}")
    return dict(value)


def expand(text: str, ctx: RunnerContext) -> str:
    """`{project}` and `{python}` in a project declaration's strings."""
    return text.replace("{project}", str(ctx.project_dir)).replace("{python}", ctx.python)


class _Argv:
    """A project declaration's command or prepare: its argv with the placeholders expanded."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = tuple(argv)

    def __call__(self, ctx: RunnerContext) -> Sequence[str]:
        return [expand(a, ctx) for a in self.argv]

    def __repr__(self) -> str:
        return " ".join(self.argv)


class _Env:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def __call__(self, ctx: RunnerContext) -> Mapping[str, str]:
        return {k: expand(v, ctx) for k, v in self.env.items()}
