"""JSON Schema -> a TypeScript type expression.

Covers what step schemas use: objects (required / optional properties, additionalProperties),
arrays and tuples, enums and consts, anyOf / oneOf (union), allOf (intersection), type lists,
nullable, and `$ref` within the same document. A recursive `$ref` and any keyword this cannot
express become `unknown`, which is safe: the step then has to narrow the value itself.

An object without `additionalProperties` gets no index signature, as Motia's generated types do:
reading an undeclared field is then an error, which is the point of generating types. An object
whose `additionalProperties` is `true` or a schema gets `[key: string]: ...`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from motia_core.typegen.schema import Schema, is_nullable, resolve_ref, types_of

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def ts_string(text: str) -> str:
    """A single-quoted TypeScript string, as Motia's generated file writes them."""
    inner = json.dumps(text)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{inner}'"


def ts_literal(value: Any) -> str:
    """A JSON value as a TypeScript literal type."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return ts_string(value)
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return "unknown"  # object / array consts: TS has no literal type for them


def ts_key(name: str) -> str:
    return name if _IDENT.match(name) else ts_string(name)


def union(parts: list[str]) -> str:
    unique: list[str] = []
    for p in parts:
        if p not in unique:
            unique.append(p)
    if not unique:
        return "never"
    if "unknown" in unique:
        return "unknown"
    return " | ".join(_paren(p) for p in unique) if len(unique) > 1 else unique[0]


def _paren(t: str) -> str:
    """`(A | B)[]` and `(A & B) | C` need the brackets; `{ a: B | C }[]` and names do not."""
    return f"({t})" if top_level_operator(t) else t


def top_level_operator(t: str) -> bool:
    depth, quoted = 0, False
    for i, ch in enumerate(t):
        if quoted:
            quoted = ch != "'" or t[i - 1] == "\\"
        elif ch == "'":
            quoted = True
        elif ch in "{[(<":
            depth += 1
        elif ch in "}])>":
            depth -= 1
        elif depth == 0 and ch in "|&" and t[i - 1 : i + 2] in (" | ", " & "):
            return True
    return False


class TsConverter:
    """Converts the schemas of one document (refs resolve against `root`)."""

    def __init__(self, root: Schema) -> None:
        self.root = root

    def convert(self, schema: Schema | None) -> str:
        return self._convert(schema, ())

    def _convert(self, schema: Schema | None, refs: tuple[str, ...]) -> str:
        if schema is None or schema is True:
            return "unknown"
        if schema is False:
            return "never"
        t = self._bare(schema, refs)
        if is_nullable(schema) and t not in ("unknown", "null"):
            t = union([t, "null"])
        return t

    def _bare(self, schema: dict[str, Any], refs: tuple[str, ...]) -> str:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = resolve_ref(ref, self.root)
            if target is None or ref in refs:
                return "unknown"
            return self._convert(target, (*refs, ref))
        if "const" in schema:
            return ts_literal(schema["const"])
        if isinstance(schema.get("enum"), list):
            return union([ts_literal(v) for v in schema["enum"]])
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return union([self._convert(s, refs) for s in schema[key]])
        if isinstance(schema.get("allOf"), list):
            parts = [self._convert(s, refs) for s in schema["allOf"]]
            parts = [p for p in parts if p != "unknown"]
            return " & ".join(_paren(p) for p in parts) if parts else "unknown"
        kinds = types_of(schema)
        if not kinds:
            # no `type`: infer from the keywords present, else anything goes
            if "properties" in schema or "additionalProperties" in schema:
                kinds = ["object"]
            elif "items" in schema or "prefixItems" in schema:
                kinds = ["array"]
            else:
                return "unknown"
        return union([self._of_type(k, schema, refs) for k in kinds])

    def _of_type(self, kind: str, schema: dict[str, Any], refs: tuple[str, ...]) -> str:
        if kind == "string":
            return "string"
        if kind in ("number", "integer"):
            return "number"
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        if kind == "array":
            return self._array(schema, refs)
        if kind == "object":
            return self._object(schema, refs)
        return "unknown"

    def _array(self, schema: dict[str, Any], refs: tuple[str, ...]) -> str:
        tuple_items = schema.get("prefixItems")
        if tuple_items is None and isinstance(schema.get("items"), list):
            tuple_items = schema["items"]  # draft-07 tuple form
        if isinstance(tuple_items, list):
            return "[" + ", ".join(self._convert(s, refs) for s in tuple_items) + "]"
        item = self._convert(schema.get("items"), refs)
        return f"{_paren(item)}[]"

    def _object(self, schema: dict[str, Any], refs: tuple[str, ...]) -> str:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or [])
        extra = schema.get("additionalProperties")
        if not props:
            if extra is False:
                return "Record<string, never>"
            if isinstance(extra, dict):
                return f"Record<string, {self._convert(extra, refs)}>"
            return "Record<string, unknown>"
        lines = []
        for name in props:  # declaration order: the author's order is the reader's order
            opt = "" if name in required else "?"
            lines.append(f"{ts_key(name)}{opt}: {self._convert(props[name], refs)}")
        if extra is True or isinstance(extra, dict):
            # an index signature must admit every declared property's type, so it stays unknown
            lines.append("[key: string]: unknown")
        return "{ " + "; ".join(lines) + " }"
