"""The pydantic models of step configs: the slow path of `steps.parse_step`.

`steps.py` accepts the common, plainly valid configs itself (`steps.plainly_valid`), so a serving core
imports pydantic and builds these models only when a config needs a closer look: one that is
invalid (their errors name each field) or uses a key the fast path leaves to them (`infrastructure`,
a `$function` spelled `function`). Both paths accept the same configs and build the same Step:
`tests/test_steps_fast.py` checks this against a corpus of valid and broken configs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from motia_core.errors import ConfigIssue
from motia_core.project import StepFile
from motia_core.steps import (
    HTTP_METHODS,
    ConfigValidationError,
    _kind,
    _short,
    cron_problem,
    locate_key,
    path_problem,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class EmitObject(_Strict):
    topic: str = Field(min_length=1)
    label: str | None = None
    conditional: bool | None = None


Emit = str | EmitObject
JsonSchema = dict[str, Any] | None  # steps.JsonSchema: the same type, spelled here for pydantic


class FunctionRef(_Strict):
    """A function in a config, as runners encode it: {"$function": "<name>"}."""

    function: str = Field(alias="$function")


class QueryParam(_Strict):
    name: str
    description: str | None = None


class HandlerInfra(_Strict):
    ram: Annotated[int, Field(ge=128, le=10240)] | None = None
    cpu: float | int | None = None
    timeout: Annotated[float | int, Field(gt=0, le=900)] | None = None


class QueueInfra(_Strict):
    type: Literal["standard", "fifo"] | None = None
    maxRetries: Annotated[int, Field(ge=0)] | None = None
    visibilityTimeout: Annotated[float | int, Field(gt=0)] | None = None
    delaySeconds: Annotated[float | int, Field(ge=0, le=900)] | None = None
    concurrency: Annotated[int, Field(ge=1)] | None = None


class Infrastructure(_Strict):
    handler: HandlerInfra | None = None
    queue: QueueInfra | None = None


class ApiInfrastructure(_Strict):
    handler: HandlerInfra | None = None  # handler.timeout overrides --api-timeout (docs/delivery.md)


class _Common(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    flows: list[str] = Field(default_factory=list)
    virtualEmits: list[Emit] = Field(default_factory=list)
    virtualSubscribes: list[str] = Field(default_factory=list)
    includeFiles: list[str] = Field(default_factory=list)


class ApiConfig(_Common):
    type: Literal["api"]
    path: str
    method: str
    emits: list[Emit] = Field(default_factory=list)
    middleware: list[FunctionRef] = Field(default_factory=list)
    bodySchema: JsonSchema = None
    responseSchema: dict[str, JsonSchema] | None = None
    queryParams: list[QueryParam] = Field(default_factory=list)
    infrastructure: ApiInfrastructure | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        problem = path_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        up = v.upper()
        if up not in HTTP_METHODS:
            raise ValueError(f"expected one of {', '.join(HTTP_METHODS)}, got {v!r}")
        return up


class EventConfig(_Common):
    type: Literal["event"]
    subscribes: list[str]  # may be empty, as in Motia: the registry warns that the step never runs
    emits: list[Emit] = Field(default_factory=list)
    input: JsonSchema = None
    infrastructure: Infrastructure | None = None


class CronConfig(_Common):
    type: Literal["cron"]
    cron: str
    emits: list[Emit] = Field(default_factory=list)

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        problem = cron_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class NoopConfig(_Common):
    type: Literal["noop"]


_MODELS: dict[str, type[_Common]] = {
    "api": ApiConfig,
    "event": EventConfig,
    "cron": CronConfig,
    "noop": NoopConfig,
}


def validate(file: StepFile, raw: dict[str, Any]) -> None:
    """Validate a step config whose `type` is one of _MODELS; raise ConfigValidationError naming every
    issue found."""
    try:
        _MODELS[raw["type"]].model_validate(raw)
    except ValidationError as exc:
        raise ConfigValidationError(_issues(file, exc)) from exc


def _issues(file: StepFile, exc: ValidationError) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not _is_union_branch(p)]
        path = "config" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc)
        message = _message(err)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        key = next((p for p in reversed(loc) if not p.isdigit()), "")
        issues.append(ConfigIssue(file.relative_path, path, message, locate_key(file.path, key) if key else None))
    return issues


def _is_union_branch(part: object) -> bool:
    # pydantic names union members in locations ("str", "EmitObject", "function-after[...]"); hide them.
    return isinstance(part, str) and (
        part in {"str", "EmitObject", "FunctionRef", "dict[str,any]", "none"}
        or "[" in part
        or part.startswith("function")
    )


def _message(err: Any) -> str:
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        return "unknown key (not part of this step type's config)"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{err['msg'].lower()}, got {got!r}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_kind(got)} {_short(got)}"
    return f"{err['msg'].lower()} (got {_kind(got)} {_short(got)})"


_EXPECTED = {
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
}
