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
        out = []
        for e in self._slow.iter_errors(value):
            path = [str(p) for p in e.absolute_path]
            if e.validator == "required" and isinstance(e.instance, dict):
                # point at the missing property itself, not at its parent object
                required = e.validator_value if isinstance(e.validator_value, list) else []
                missing = [p for p in required if p not in e.instance]
                if len(missing) == 1 or e.message.count("'") >= 2:
                    name = missing[0] if len(missing) == 1 else e.message.split("'")[1]
                    out.append(SchemaViolation("/" + "/".join([*path, name]), "is required"))
                    continue
            out.append(SchemaViolation("/" + "/".join(path) if path else "", e.message))
        return sorted(out, key=lambda v: v.path)


def compile_schema(schema: dict[str, Any] | None) -> tuple[CompiledSchema | None, str | None]:
    """Compile; return (None, reason) for an empty or malformed schema."""
    if not schema:
        return None, None
    try:
        return CompiledSchema(schema), None
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return None, f"{exc.message}" + (f" (at schema path '{where}')" if where else "")
