"""The fixture steps as data: ``spec/fixtures.json``, read by the cases instead of per-language knowledge.

The file says, for each of the eight fixture steps, what its config declares and what its handler
does (the calls it makes, in order, and what it returns or raises), with small templates that refer
to the invocation's input (see the file's ``about``). :func:`evaluate` fills a template in;
:func:`expected_calls` turns a step's calls into what the kit must have recorded, given the replies
the kit sent.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

SPEC_DIR = Path(__file__).resolve().parent / "spec"
SPEC_FILE = SPEC_DIR / "fixtures.json"
PROSE_FILE = SPEC_DIR / "FIXTURES.md"


class SpecError(Exception):
    """The spec file itself is wrong (a kit bug, not a runner's)."""


@dataclass(frozen=True)
class FixtureStep:
    id: str  # "echo", "calls", ...: how the kit names the step's role
    file: str  # the file name's stem: echo_step.py, echo.step.ts, echo_step.go
    config: dict[str, Any]  # what the config must declare (compared with the core's parse of it)
    has_handler: bool
    handler: dict[str, Any]  # {} for a step without handler

    @property
    def name(self) -> str:
        name = self.config.get("name")
        assert isinstance(name, str)
        return name

    @property
    def topic(self) -> str:
        """The topic an event step is invoked with: its first subscription ("" for other types)."""
        subscribes = self.config.get("subscribes") or [""]
        return str(subscribes[0])

    @property
    def calls(self) -> list[dict[str, Any]]:
        calls = self.handler.get("calls", [])
        assert isinstance(calls, list)
        return calls


@dataclass(frozen=True)
class Spec:
    version: int
    steps: tuple[FixtureStep, ...]

    def step(self, step_id: str) -> FixtureStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise SpecError(f"{SPEC_FILE.name} has no fixture step {step_id!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)


@functools.cache
def spec() -> Spec:
    """The spec shipped with the kit (parsed once)."""
    try:
        raw = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read the conformance spec {SPEC_FILE}: {exc}") from exc
    steps = []
    for i, item in enumerate(raw.get("steps", [])):
        try:
            steps.append(
                FixtureStep(
                    id=str(item["id"]),
                    file=str(item["file"]),
                    config=dict(item["config"]),
                    has_handler=bool(item["has_handler"]),
                    handler=dict(item["handler"] or {}),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"{SPEC_FILE}: steps[{i}] is malformed ({exc!r})") from exc
    return Spec(version=int(raw.get("version", 0)), steps=tuple(steps))


def evaluate(template: Any, scope: dict[str, Any]) -> Any:
    """Fill in a template: ``{"$": "input.key"}``, ``{"$concat": [...]}``, ``{"$len": x}``,
    ``{"$repeat": [s, n]}``; everything else is taken literally."""
    if isinstance(template, list):
        return [evaluate(item, scope) for item in template]
    if not isinstance(template, dict):
        return template
    if len(template) == 1:
        (op, arg), *_ = template.items()
        if op == "$":
            return lookup(scope, str(arg))
        if op == "$concat":
            return "".join(str(evaluate(part, scope)) for part in arg)
        if op == "$len":
            value = evaluate(arg, scope)
            return len(value) if isinstance(value, list | dict | str) else -1
        if op == "$repeat":
            text, times = (evaluate(part, scope) for part in arg)
            return str(text) * int(times)
    return {key: evaluate(value, scope) for key, value in template.items()}


def lookup(scope: dict[str, Any], path: str) -> Any:
    """``request.headers.x-conformance`` in ``scope``; None when a part is missing."""
    value: Any = scope
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def expected_args(call: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    """The arguments the kit records for one specified call (the spec's log level is a name; an
    emit without message group has an empty ``message_group_id`` on the wire)."""
    args = evaluate(call.get("args", {}), scope)
    assert isinstance(args, dict)
    if call.get("op") == "log" and isinstance(args.get("level"), str):
        args["level"] = int(pb.Log.Level.Value("LEVEL_" + args["level"].upper()))
    if call.get("op") == "emit":
        args.setdefault("message_group_id", "")
    return args


def failure_kind(name: str) -> int:
    return int(pb.FailureKind.Value("FAILURE_KIND_" + name))


__all__ = ["FixtureStep", "Spec", "SpecError", "evaluate", "expected_args", "failure_kind", "lookup", "spec"]
