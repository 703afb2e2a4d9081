"""The step model: validated configs of api, event, cron and noop steps.

Runners import step files and send each config as JSON; this module is the one validator for every
language. It is strict (unknown keys and wrong types are rejected, naming the field and, when it can
be found, the line in the source file) yet accepts every key real Motia 0.x projects use.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from motia_core.errors import ConfigIssue
from motia_core.project import RunnerName, StepFile


class StepType(enum.StrEnum):
    API = "api"
    EVENT = "event"
    CRON = "cron"
    NOOP = "noop"


HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class EmitObject(_Strict):
    topic: str = Field(min_length=1)
    label: str | None = None
    conditional: bool | None = None


Emit = str | EmitObject
JsonSchema = dict[str, Any] | None


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
        fields = v.split()
        if len(fields) not in (5, 6) or not croniter.is_valid(v, second_at_beginning=len(fields) == 6):
            raise ValueError(
                f"invalid cron expression {v!r}: expected 5 fields (min hour day month weekday) or 6 with seconds first"
            )
        return v


class NoopConfig(_Common):
    type: Literal["noop"]


# Paths motia-core serves itself (or will: /metrics, the Workbench under /__motia): an API step may
# not take them or anything below them. Built-in routes are added first, so a step there would be
# silently unreachable; rejecting it at load says so. http/guard.py (admin surface) uses the same list.
RESERVED_PATH_PREFIXES = ("/__motia", "/emit", "/metrics", "/__workbench")  # the last: the Workbench default

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters that cannot appear literally in a route: URL delimiters, aiohttp's own pattern syntax
# ({name}, {name:regex}) and what RFC 3986 excludes. '%' too: routes match the decoded path.
_PATH_FORBIDDEN = frozenset(' ?#{}\\"<>^`|%')


def path_problem(path: str) -> str | None:
    """Why an API step's Express-style path ('/users/:id') cannot be served, or None."""
    if not path.startswith("/"):
        return f"must start with '/', got {path!r}"
    # '?' is allowed only as the optional-parameter mark of a ':name?' segment
    literal = "/".join(seg.removesuffix("?") if seg.startswith(":") else seg for seg in path.split("/"))
    for ch in literal:
        if ch in _PATH_FORBIDDEN or ord(ch) < 0x20 or ord(ch) == 0x7F:
            hint = " (write a path parameter as ':name')" if ch in "{}" else ""
            return f"character {ch!r} is not allowed in a path{hint}, got {path!r}"
    names: set[str] = set()
    for segment in path.split("/"):
        if ":" not in segment:
            continue
        name = segment[1:].removesuffix("?") if segment.startswith(":") else ""
        if segment == ":" or segment == ":?":
            return f"segment ':' needs a parameter name, e.g. '/users/:id', got {path!r}"
        if not _PARAM_NAME.fullmatch(name):
            return (
                f"segment {segment!r} is not supported: a path parameter is a whole segment ':name' "
                f"(letters, digits, _), got {path!r}"
            )
        if name in names:
            return f"path parameter ':{name}' appears twice in {path!r}"
        names.add(name)
    trimmed = path.rstrip("/") or "/"
    for prefix in RESERVED_PATH_PREFIXES:
        if trimmed == prefix or trimmed.startswith(prefix + "/"):
            where = "a route" if trimmed == prefix else f"under {prefix}, a path"
            return f"{path!r} is {where} motia-core serves itself (or reserves); pick another path"
    return None


_MODELS: dict[str, type[_Common]] = {
    "api": ApiConfig,
    "event": EventConfig,
    "cron": CronConfig,
    "noop": NoopConfig,
}


@dataclass(frozen=True)
class QueueSettings:
    fifo: bool = False
    max_retries: int = 3
    concurrency: int = 32
    delay_seconds: float = 0.0
    visibility_timeout: float = 900.0


@dataclass(frozen=True)
class Step:
    """A validated step, ready to be routed, subscribed or scheduled."""

    file: StepFile
    type: StepType
    name: str
    config: dict[str, Any]
    flows: tuple[str, ...] = ()
    emits: tuple[str, ...] = ()
    subscribes: tuple[str, ...] = ()
    path: str = ""
    method: str = ""
    cron: str = ""
    body_schema: dict[str, Any] | None = None
    input_schema: dict[str, Any] | None = None
    handler_timeout: float | None = None
    queue: QueueSettings = field(default_factory=QueueSettings)
    has_handler: bool = True

    @property
    def id(self) -> str:
        return self.file.step_id

    @property
    def runtime(self) -> RunnerName:
        return self.file.runtime

    @property
    def language(self) -> str:
        return self.file.language


def parse_step(file: StepFile, config_json: bytes, has_handler: bool) -> Step:
    """Validate one config; raise ConfigValidationError with every issue found."""
    rel = file.relative_path
    try:
        raw = orjson.loads(config_json)
    except orjson.JSONDecodeError as exc:
        raise ConfigValidationError([ConfigIssue(rel, "config", f"is not valid JSON: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise ConfigValidationError([ConfigIssue(rel, "config", f"expected an object, got {_kind(raw)}")])
    step_type = raw.get("type")
    model = _MODELS.get(step_type) if isinstance(step_type, str) else None
    if model is None:
        msg = f"expected one of api, event, cron, noop; got {step_type!r}"
        raise ConfigValidationError([ConfigIssue(rel, "config.type", msg, locate_key(file.path, "type"))])
    try:
        cfg = model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigValidationError(_issues(file, exc)) from exc
    if not has_handler and step_type != "noop":
        raise ConfigValidationError([ConfigIssue(rel, "handler", f"a {step_type} step must export a handler function")])
    return _to_step(file, cfg, raw, has_handler)


class ConfigValidationError(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def _to_step(file: StepFile, cfg: _Common, raw: dict[str, Any], has_handler: bool) -> Step:
    common: dict[str, Any] = {
        "file": file,
        "name": cfg.name,
        "config": raw,
        "flows": tuple(cfg.flows),
        "has_handler": has_handler,
    }
    if isinstance(cfg, ApiConfig):
        api_handler = cfg.infrastructure.handler if cfg.infrastructure else None
        return Step(
            type=StepType.API,
            handler_timeout=float(api_handler.timeout) if api_handler and api_handler.timeout else None,
            emits=_topics(cfg.emits),
            path=cfg.path,
            method=cfg.method,
            body_schema=cfg.bodySchema,
            **common,
        )
    if isinstance(cfg, EventConfig):
        infra = cfg.infrastructure or Infrastructure()
        q = infra.queue or QueueInfra()
        queue = QueueSettings(
            fifo=q.type == "fifo",
            max_retries=q.maxRetries if q.maxRetries is not None else 3,
            concurrency=1 if q.type == "fifo" else (q.concurrency or 32),
            delay_seconds=float(q.delaySeconds or 0),
            visibility_timeout=float(q.visibilityTimeout or 900),
        )
        timeout = infra.handler.timeout if infra.handler else None
        return Step(
            type=StepType.EVENT,
            emits=_topics(cfg.emits),
            subscribes=tuple(cfg.subscribes),
            input_schema=cfg.input,
            queue=queue,
            handler_timeout=float(timeout) if timeout is not None else None,
            **common,
        )
    if isinstance(cfg, CronConfig):
        return Step(type=StepType.CRON, emits=_topics(cfg.emits), cron=cfg.cron, **common)
    return Step(type=StepType.NOOP, **common)


def _topics(emits: list[Emit]) -> tuple[str, ...]:
    return tuple(e if isinstance(e, str) else e.topic for e in emits)


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


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _short(value: object) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def locate_key(path: Path, key: str) -> int | None:
    """Best-effort line of `key` in the source, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    pattern = re.compile(rf"""(?:^|[\s{{,])["']?{re.escape(key)}["']?\s*(?:=>|:|=)""")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None
