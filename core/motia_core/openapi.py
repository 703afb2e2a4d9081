"""`motia-core openapi`: an OpenAPI 3.1 document of the project's API steps (docs/dev.md, "OpenAPI").

Each API step becomes one operation: Express paths (`/orders/:id`) become OpenAPI templates
(`/orders/{id}`), with `:id` a required path parameter; an optional `:id?` segment gives two paths,
with and without it, because OpenAPI path parameters are always required. `queryParams` become
optional query parameters, `bodySchema` the JSON request body, `responseSchema` the responses by
status, the step name the operationId and its flows the tags.

OpenAPI 3.1 schema objects are JSON Schema 2020-12, so the step schemas are used as they are. A
`$ref` inside one (`#/$defs/Item`, from pydantic or zod) points into that schema, not into the
document; such a schema is moved to `components/schemas/<operationId><Part>` and its references are
rewritten to point there, which keeps them valid, recursive ones included.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from motia_core.steps import Step, StepType
from motia_core.typegen.schema import pascal, response_schemas


def render_openapi(steps: Sequence[Step], title: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {}
    tags: set[str] = set()
    for step in sorted((s for s in steps if s.type is StepType.API), key=lambda s: (s.path, s.method, s.name)):
        tags.update(step.flows)
        variants = _path_variants(step.path)
        for variant, params in variants:
            op = _operation(step, params, components)
            extra = [p for p in params if p not in variants[0][1]]  # variants[0] keeps no ':x?' segment
            if extra:  # operationIds are unique per document: the longer paths say what they add
                op["operationId"] = step.name + "With" + "".join(pascal(p) for p in extra)
            paths.setdefault(variant, {})[step.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
    }
    if tags:
        doc["tags"] = [{"name": t} for t in sorted(tags)]
    if components:
        doc["components"] = {"schemas": dict(sorted(components.items()))}
    return doc


def _path_variants(path: str) -> list[tuple[str, list[str]]]:
    """'/a/:id/:rest?' -> [('/a/{id}', ['id']), ('/a/{id}/{rest}', ['id', 'rest'])]."""
    segments = path.split("/")
    optional = [i for i, s in enumerate(segments) if s.startswith(":") and s.endswith("?")]
    out = []
    for keep in itertools.product((False, True), repeat=len(optional)):
        kept = {i for i, k in zip(optional, keep, strict=True) if k}
        parts, params = [], []
        for i, seg in enumerate(segments):
            if i in optional and i not in kept:
                continue
            if seg.startswith(":"):
                name = seg[1:].removesuffix("?")
                parts.append("{" + name + "}")
                params.append(name)
            else:
                parts.append(seg)
        out.append(("/".join(parts) or "/", params))
    return out


def _operation(step: Step, path_params: list[str], components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": step.name}
    description = step.config.get("description")
    if isinstance(description, str) and description:
        op["summary"] = description.splitlines()[0]
        op["description"] = description
    if step.flows:
        op["tags"] = list(step.flows)
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in path_params
    ]
    for q in step.config.get("queryParams") or []:
        param: dict[str, Any] = {"name": q["name"], "in": "query", "required": False, "schema": {"type": "string"}}
        if q.get("description"):
            param["description"] = q["description"]
        parameters.append(param)
    if parameters:
        op["parameters"] = parameters
    if step.body_schema is not None:
        schema = _schema(step.body_schema, step.name + "Body", components)
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {}
    for status, raw in response_schemas(step):
        response: dict[str, Any] = {"description": _phrase(status)}
        if raw is not None:
            schema = _schema(raw, f"{step.name}Response{status}", components)
            response["content"] = {"application/json": {"schema": schema}}
        responses[str(status)] = response
    op["responses"] = responses or {"default": {"description": "whatever the handler returns (no responseSchema)"}}
    return op


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"status {status}"


def _schema(schema: dict[str, Any] | bool, name: str, components: dict[str, Any]) -> dict[str, Any] | bool:
    if isinstance(schema, bool):
        return schema
    doc = {k: v for k, v in schema.items() if k != "$schema"}  # the document's dialect applies
    if not _has_local_ref(doc):
        return doc
    key = pascal(name)
    base = f"#/components/schemas/{key}"
    components[key] = _rewrite(copy.deepcopy(doc), base)
    return {"$ref": base}


def _has_local_ref(node: Any) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            return True
        return any(_has_local_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_local_ref(v) for v in node)
    return False


def _rewrite(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, base) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = base + ref[1:]
        return out
    if isinstance(node, list):
        return [_rewrite(v, base) for v in node]
    return node
