"""The pydantic models of stream and stream auth configs, imported by streams/config.py when a project
has such a file: a project without streams never imports pydantic for them (steps.py explains why)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError

from motia_core.step_models import FunctionRef, JsonSchema, _issues, _Strict

__all__ = ["ValidationError", "_AuthConfig", "_BaseConfig", "_StreamConfig", "_issues"]


class _BaseConfig(_Strict):
    storageType: Literal["default", "custom"]
    factory: FunctionRef | None = None


class _StreamConfig(_Strict):
    name: str = Field(min_length=1)
    schema_: JsonSchema = Field(alias="schema")
    baseConfig: _BaseConfig
    canAccess: FunctionRef | None = None
    description: str | None = None


class _AuthConfig(_Strict):
    name: str | None = None
    description: str | None = None
    contextSchema: JsonSchema = None
