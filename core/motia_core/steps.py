"""The step model: validated configs of api, event, cron and noop steps.

Runners import step files and send each config as JSON; this module is the one validator for every
language. It is strict (unknown keys and wrong types are rejected, naming the field and, when it can
be found, the line in the source file) yet accepts every key real Motia 0.x projects use.

Two paths, one verdict: `plainly_valid` accepts the common valid configs with plain type checks, and
anything else goes to the pydantic models in step_models.py, which reject with an issue per field
(or accept what the fast path left to them). pydantic and the models cost ~0.1-0.2 s of CPU at
import, on the cold start's critical path; a project whose configs are plainly valid never loads
them (docs/performance.md#cold-start-where-the-time-goes).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from motia_core.errors import ConfigIssue
from motia_core.project import RunnerName, StepFile


class StepType(enum.StrEnum):
    API = "api"
    EVENT = "event"
    CRON = "cron"
    NOOP = "noop"


HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")


JsonSchema = dict[str, Any] | None

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
    if not isinstance(step_type, str) or step_type not in _KEYS:
        msg = f"expected one of api, event, cron, noop; got {step_type!r}"
        raise ConfigValidationError([ConfigIssue(rel, "config.type", msg, locate_key(file.path, "type"))])
    if not plainly_valid(raw):
        from motia_core.step_models import validate  # late: pydantic, for configs that need it only

        validate(file, raw)
    if not has_handler and step_type != "noop":
        raise ConfigValidationError([ConfigIssue(rel, "handler", f"a {step_type} step must export a handler function")])
    return _to_step(file, raw, has_handler)


class ConfigValidationError(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def cron_problem(expression: str) -> str | None:
    """Why a cron step's expression cannot be scheduled, or None."""
    from croniter import croniter  # late: ~15 ms of CPU, needed by cron steps only

    fields = expression.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=len(fields) == 6):
        return (
            f"invalid cron expression {expression!r}: expected 5 fields (min hour day month weekday) "
            "or 6 with seconds first"
        )
    return None


# The keys each step type's config may have (step_models.py declares their types)
_COMMON_KEYS = frozenset({"type", "name", "description", "flows", "virtualEmits", "virtualSubscribes", "includeFiles"})
_KEYS = {
    "api": _COMMON_KEYS
    | {"path", "method", "emits", "middleware", "bodySchema", "responseSchema", "queryParams", "infrastructure"},
    "event": _COMMON_KEYS | {"subscribes", "emits", "input", "infrastructure"},
    "cron": _COMMON_KEYS | {"cron", "emits"},
    "noop": _COMMON_KEYS,
}
_EMIT_KEYS = frozenset({"topic", "label", "conditional"})
_QUERY_PARAM_KEYS = frozenset({"name", "description"})


def plainly_valid(raw: dict[str, Any]) -> bool:
    """True when the models in step_models.py would surely accept `raw` (whose `type` is known): plain
    JSON types only, checked as strictly as the models check them. False means "ask the models", not
    "invalid": `infrastructure` (bounded numbers) and other rare shapes are always left to them."""
    kind = raw["type"]
    if not raw.keys() <= _KEYS[kind] or not _text(raw.get("name")) or not _optional_str(raw.get("description")):
        return False
    if not all(_str_list(raw[k]) for k in ("flows", "virtualSubscribes", "includeFiles") if k in raw):
        return False
    if not all(_emit_list(raw[k]) for k in ("emits", "virtualEmits") if k in raw):
        return False
    if raw.get("infrastructure") is not None:
        return False
    if kind == "api":
        path, method, responses = raw.get("path"), raw.get("method"), raw.get("responseSchema")
        return (
            type(path) is str
            and path_problem(path) is None
            and type(method) is str
            and method.upper() in HTTP_METHODS
            and _schema(raw.get("bodySchema"))
            and (responses is None or (type(responses) is dict and all(_schema(v) for v in responses.values())))
            and all(_function_ref(m) for m in _items(raw, "middleware"))
            and all(_query_param(q) for q in _items(raw, "queryParams"))
        )
    if kind == "event":
        return _str_list(raw.get("subscribes")) and _schema(raw.get("input"))
    if kind == "cron":
        cron = raw.get("cron")
        return type(cron) is str and cron_problem(cron) is None
    return True


def _text(value: object) -> bool:
    return type(value) is str and value != ""


def _optional_str(value: object) -> bool:
    return value is None or type(value) is str


def _str_list(value: object) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


def _items(raw: dict[str, Any], key: str) -> list[Any]:
    """An optional list key's items ([] when absent); a value that is not a list (None included: these
    keys are not nullable) gives [None], which fails the caller's per-item check."""
    value = raw.get(key, [])
    return value if type(value) is list else [None]


def _emit_list(value: object) -> bool:
    return type(value) is list and all(type(e) is str or _emit_object(e) for e in value)


def _emit_object(value: object) -> bool:
    return (
        type(value) is dict
        and value.keys() <= _EMIT_KEYS
        and _text(value.get("topic"))
        and _optional_str(value.get("label"))
        and (value.get("conditional") is None or type(value.get("conditional")) is bool)
    )


def _schema(value: object) -> bool:
    return value is None or type(value) is dict


def _function_ref(value: object) -> bool:
    return type(value) is dict and value.keys() == {"$function"} and type(value["$function"]) is str


def _query_param(value: object) -> bool:
    return (
        type(value) is dict
        and value.keys() <= _QUERY_PARAM_KEYS
        and type(value.get("name")) is str
        and _optional_str(value.get("description"))
    )


def _to_step(file: StepFile, raw: dict[str, Any], has_handler: bool) -> Step:
    """The Step of a validated config. Validation is strict (no coercion), so the raw values are the
    validated ones; only `method` is normalised (upper case), as the models' validator does."""
    common: dict[str, Any] = {
        "file": file,
        "name": raw["name"],
        "config": raw,
        "flows": tuple(raw.get("flows", ())),
        "has_handler": has_handler,
    }
    kind = raw["type"]
    emits = tuple(e if isinstance(e, str) else e["topic"] for e in raw.get("emits", ()))
    infra: dict[str, Any] = raw.get("infrastructure") or {}
    timeout = (infra.get("handler") or {}).get("timeout")
    if kind == "api":
        return Step(
            type=StepType.API,
            handler_timeout=float(timeout) if timeout else None,
            emits=emits,
            path=raw["path"],
            method=raw["method"].upper(),
            body_schema=raw.get("bodySchema"),
            **common,
        )
    if kind == "event":
        q: dict[str, Any] = infra.get("queue") or {}
        fifo = q.get("type") == "fifo"
        queue = QueueSettings(
            fifo=fifo,
            max_retries=q["maxRetries"] if q.get("maxRetries") is not None else 3,
            concurrency=1 if fifo else (q.get("concurrency") or 32),
            delay_seconds=float(q.get("delaySeconds") or 0),
            visibility_timeout=float(q.get("visibilityTimeout") or 900),
        )
        return Step(
            type=StepType.EVENT,
            emits=emits,
            subscribes=tuple(raw["subscribes"]),
            input_schema=raw.get("input"),
            queue=queue,
            handler_timeout=float(timeout) if timeout is not None else None,
            **common,
        )
    if kind == "cron":
        return Step(type=StepType.CRON, emits=emits, cron=raw["cron"], **common)
    return Step(type=StepType.NOOP, **common)


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
