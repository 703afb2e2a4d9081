"""JSON Schema validation of request bodies and event data.

fastjsonschema compiles each schema once at start-up into Python code (fast path for valid
payloads); on failure jsonschema lists every error, since fastjsonschema stops at the first.
A schema that is itself malformed is reported at start-up and validation is skipped for it:
real projects carry sloppy schemas and Motia never enforced them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for


@dataclass(frozen=True)
class SchemaViolation:
    path: str  # JSON pointer into the payload, "" for the root
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path or "/", "message": self.message}


class CompiledSchema:
    """A schema compiled for repeated validation."""

    def __init__(self, schema: dict[str, Any]) -> None:
        cls = validator_for(schema, default=jsonschema.Draft7Validator)
        cls.check_schema(schema)  # raises SchemaError for a malformed schema
        self._slow = cls(schema)
        self._fast: Callable[[Any], Any] | None
        try:
            self._fast = fastjsonschema.compile(schema)
        except Exception:  # fastjsonschema does not know every draft; fall back to jsonschema
            self._fast = None

    def errors(self, value: Any) -> list[SchemaViolation]:
        if self._fast is not None:
            try:
                self._fast(value)
                return []
            except fastjsonschema.JsonSchemaException:
                pass
        return [
            SchemaViolation("/" + "/".join(str(p) for p in e.absolute_path) if e.absolute_path else "", e.message)
            for e in sorted(self._slow.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        ]


def compile_schema(schema: dict[str, Any] | None) -> tuple[CompiledSchema | None, str | None]:
    """Compile; return (None, reason) for an empty or malformed schema."""
    if not schema:
        return None, None
    try:
        return CompiledSchema(schema), None
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return None, f"{exc.message}" + (f" (at schema path '{where}')" if where else "")
