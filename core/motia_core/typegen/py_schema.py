"""JSON Schema -> Python type expressions, with a TypedDict for every object that has properties.

TypedDicts are written in the functional form (`X = TypedDict("X", {"a": str})`) because JSON keys
need not be identifiers; optional properties are `NotRequired[...]`. Nested objects get names
built from their parent and property (`OrderBody`, `OrderBodyItemsItem`) and are defined before
the TypedDict that uses them. Mapping of the rest: integer -> int, number -> float, enum / const ->
Literal, anyOf / oneOf / type lists -> X | Y, nullable -> | None, array -> list[...], tuple ->
tuple[...], an object without properties -> dict[str, ...]. allOf, a recursive `$ref` and what
Python's types cannot say become Any (mypy then checks nothing there, which is never wrong).
"""

from __future__ import annotations

import json
from typing import Any

from motia_core.typegen.schema import Schema, is_nullable, pascal, resolve_ref, types_of


class PyModule:
    """The definitions of one generated module: names handed out once, in dependency order."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._names: set[str] = set()

    def name(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self._names:
            name, n = f"{wanted}{n}", n + 1
        self._names.add(name)
        return name

    def convert(self, schema: Schema | None, name: str, root: Schema | None = None) -> str:
        """The type of `schema`; TypedDicts it needs are appended to `lines` under `name`-based names."""
        return _Converter(self, root if root is not None else (schema if schema is not None else True)).run(
            schema, name, ()
        )


def _literal(value: Any) -> str | None:
    if value is None:
        return "None"
    if isinstance(value, (bool, int, str)):
        return f"Literal[{value!r}]" if not isinstance(value, str) else f"Literal[{json.dumps(value)}]"
    return None


def union(parts: list[str]) -> str:
    unique: list[str] = []
    for p in parts:
        if p not in unique:
            unique.append(p)
    if not unique:
        return "Never"
    if "Any" in unique:
        return "Any"
    return " | ".join(unique)


class _Converter:
    def __init__(self, module: PyModule, root: Schema) -> None:
        self.module = module
        self.root = root

    def run(self, schema: Schema | None, name: str, refs: tuple[str, ...]) -> str:
        if schema is None or schema is True:
            return "Any"
        if schema is False:
            return "Never"
        t = self._bare(schema, name, refs)
        if is_nullable(schema) and t not in ("Any", "None"):
            t = union([t, "None"])
        return t

    def _bare(self, schema: dict[str, Any], name: str, refs: tuple[str, ...]) -> str:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = resolve_ref(ref, self.root)
            if target is None or ref in refs:
                return "Any"
            return self.run(target, name, (*refs, ref))
        if "const" in schema:
            return _literal(schema["const"]) or "Any"
        if isinstance(schema.get("enum"), list):
            literals = [_literal(v) for v in schema["enum"]]
            return union([x for x in literals if x is not None]) if None not in literals else "Any"
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                options = schema[key]
                return union([self.run(s, f"{name}Option{i + 1}", refs) for i, s in enumerate(options)])
        if "allOf" in schema:
            return "Any"
        kinds = types_of(schema)
        if not kinds:
            if "properties" in schema or "additionalProperties" in schema:
                kinds = ["object"]
            elif "items" in schema or "prefixItems" in schema:
                kinds = ["array"]
            else:
                return "Any"
        return union([self._of_type(k, schema, name, refs) for k in kinds])

    def _of_type(self, kind: str, schema: dict[str, Any], name: str, refs: tuple[str, ...]) -> str:
        simple = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
        if kind in simple:
            return simple[kind]
        if kind == "array":
            items = schema.get("prefixItems")
            if items is None and isinstance(schema.get("items"), list):
                items = schema["items"]
            if isinstance(items, list):
                inner = ", ".join(self.run(s, f"{name}Item{i + 1}", refs) for i, s in enumerate(items))
                return f"tuple[{inner}]" if inner else "tuple[()]"
            return f"list[{self.run(schema.get('items'), name + 'Item', refs)}]"
        if kind == "object":
            return self._object(schema, name, refs)
        return "Any"

    def _object(self, schema: dict[str, Any], name: str, refs: tuple[str, ...]) -> str:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        extra = schema.get("additionalProperties")
        if not props:
            value = self.run(extra, name + "Value", refs) if isinstance(extra, dict) else "Any"
            return f"dict[str, {value}]"
        required = set(schema.get("required") or [])
        typed_name = self.module.name(name)
        fields = []
        for key, sub in props.items():
            t = self.run(sub, typed_name + pascal(key), refs)
            fields.append(f"{json.dumps(key)}: {t if key in required else f'NotRequired[{t}]'}")
        body = ", ".join(fields)
        self.module.lines.append(f"{typed_name} = TypedDict({json.dumps(typed_name)}, {{{body}}})")
        return typed_name
