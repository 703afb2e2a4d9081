"""JSON Schema validation of request bodies and event data.

fastjsonschema compiles each schema once at start-up into Python code (fast path for valid
payloads); on failure jsonschema lists every error, since fastjsonschema stops at the first.
A schema that is itself malformed, or has a `$ref` that does not resolve, is reported at start-up
(compile_schema returns the reason): the registry rejects such a `bodySchema` (it is enforced with
400s, so a broken one would fail every request) and only warns about an event `input` schema (real
projects carry sloppy ones and Motia never enforced them). `$ref`s are resolved within the schema
only: nothing is fetched over the network, so a remote `$ref` does not resolve.

jsonschema and referencing are imported at the first schema compiled (~60 ms of CPU): a project
without schemas never loads them (docs/performance.md#cold-start-where-the-time-goes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastjsonschema


@dataclass(frozen=True)
class SchemaViolation:
    path: str  # JSON pointer into the payload, "" for the root
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path or "/", "message": self.message}


class CompiledSchema:
    """A schema compiled for repeated validation."""

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema
        from jsonschema.validators import validator_for

        cls = validator_for(schema, default=jsonschema.Draft7Validator)
        cls.check_schema(schema)  # raises SchemaError for a malformed schema
        # before fastjsonschema, which would try to download a remote $ref at compile time
        _check_refs(schema)
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
    from jsonschema.exceptions import SchemaError

    try:
        return CompiledSchema(schema), None
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return None, f"{exc.message}" + (f" (at schema path '{where}')" if where else "")
    except _UnresolvedRef as exc:
        return None, str(exc)


class _UnresolvedRef(Exception):
    """A `$ref` in a schema points at nothing inside the schema."""


# keywords whose values are data, not subschemas: a "$ref" key inside them is not a reference
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})


def _check_refs(schema: dict[str, Any]) -> None:
    import referencing
    import referencing.jsonschema
    from referencing.exceptions import Unresolvable

    spec = referencing.jsonschema.specification_with(
        str(schema.get("$schema", "")), default=referencing.jsonschema.DRAFT7
    )
    resource = spec.create_resource(schema)
    # crawl: subschemas with their own $id become addressable, as a validator would see them
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(resource.id() or "", resource).crawl()
    root = registry.resolver(base_uri=resource.id() or "")
    stack: list[tuple[Any, Any, str]] = [(schema, root, "")]
    while stack:
        node, resolver, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, resolver, f"{where}/{i}") for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        if node is not schema and isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(spec.create_resource(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable:
                remote = "://" in ref.split("#", 1)[0]
                why = "remote references are not fetched" if remote else "nothing in the schema has that address"
                raise _UnresolvedRef(
                    f"$ref {ref!r} does not resolve ({why}) (at schema path '{where.lstrip('/') or '/'}')"
                ) from None
        for key, value in node.items():
            if key not in _DATA_KEYWORDS and isinstance(value, (dict, list)):
                stack.append((value, resolver, f"{where}/{key}"))
