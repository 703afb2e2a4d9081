"""Stream definitions (``*.stream.ts``, ``*_stream.py``, ...) and the stream auth hook file.

A stream file exports ``config = {name, schema, baseConfig: {storageType}, canAccess?}`` (spec 1.4)
and no handler; the runner that loads it sends the config as JSON like a step's (zod and pydantic
schemas converted, functions as ``{"$function": name}``). Validation is as strict as for steps and
reports problems the same way: file, line when found, field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from motia_core.errors import ConfigIssue
from motia_core.project import StepFile
from motia_core.schema import compile_schema
from motia_core.steps import ConfigValidationError, _kind

# The pydantic models are in streams/config_models.py, imported by parse_stream and parse_auth: a
# project without stream files never loads pydantic for them (docs/performance.md, cold start).


@dataclass(frozen=True)
class StreamDef:
    """A validated stream: ``ctx.streams.<name>`` and the WebSocket rooms of that name."""

    file: StepFile
    name: str
    schema: dict[str, Any] | None
    can_access: bool  # config.canAccess is a function, run by the file's runner on every join
    custom_storage: bool  # baseConfig.storageType 'custom' (served from the default store)
    config: dict[str, Any]

    @property
    def id(self) -> str:
        return self.file.step_id

    @property
    def hidden(self) -> bool:
        return self.name.startswith("__motia.")


@dataclass(frozen=True)
class AuthHook:
    """The project's stream auth file: its handler turns a connection's token into an auth context."""

    file: StepFile
    config: dict[str, Any]
    # JSON Schema a non-null auth context must match (the file's config.contextSchema, or
    # motia.config.ts streamAuth.contextSchema); a context that fails it refuses the connection
    context_schema: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.file.step_id


def _decode(file: StepFile, config_json: bytes) -> dict[str, Any]:
    rel = file.relative_path
    try:
        raw = orjson.loads(config_json)
    except orjson.JSONDecodeError as exc:
        raise ConfigValidationError([ConfigIssue(rel, "config", f"is not valid JSON: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise ConfigValidationError([ConfigIssue(rel, "config", f"expected an object, got {_kind(raw)}")])
    return raw


def parse_stream(file: StepFile, config_json: bytes, has_handler: bool) -> StreamDef:
    """Validate one stream file's config; raise ConfigValidationError with every issue found."""
    from motia_core.streams.config_models import ValidationError, _issues, _StreamConfig

    raw = _decode(file, config_json)
    try:
        cfg = _StreamConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigValidationError(_reword(_issues(file, exc), "a stream config")) from exc
    return StreamDef(
        file=file,
        name=cfg.name,
        schema=cfg.schema_,
        can_access=cfg.canAccess is not None,
        custom_storage=cfg.baseConfig.storageType == "custom",
        config=raw,
    )


def parse_auth(file: StepFile, config_json: bytes, has_handler: bool) -> AuthHook:
    """Validate the stream auth file: an optional small config and a handler."""
    from motia_core.streams.config_models import ValidationError, _AuthConfig, _issues

    raw = _decode(file, config_json)
    try:
        cfg = _AuthConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigValidationError(_reword(_issues(file, exc), "a stream auth config")) from exc
    if not has_handler:
        message = "the stream auth file must export a handler function (request) -> auth context"
        raise ConfigValidationError([ConfigIssue(file.relative_path, "handler", message)])
    _compiled, problem = compile_schema(cfg.contextSchema)
    if problem is not None:
        issue = ConfigIssue(file.relative_path, "config.contextSchema", f"not a valid JSON Schema: {problem}")
        raise ConfigValidationError([issue])
    return AuthHook(file=file, config=raw, context_schema=cfg.contextSchema)


def _reword(issues: list[ConfigIssue], what: str) -> list[ConfigIssue]:
    return [ConfigIssue(i.file, i.field, i.message.replace("this step type's config", what), i.line) for i in issues]
