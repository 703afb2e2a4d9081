"""`motia-core openapi`: an OpenAPI 3.1 document of the API steps that a real validator accepts,
with paths, params, bodies, responses, operationIds and tags taken from the configs (docs/dev.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from motia_core.openapi import render_openapi
from tests.conftest import copy_fixture

# a Python step with a recursive pydantic model ($defs + $ref) and an optional path segment
TREE_STEP = """
from __future__ import annotations

from pydantic import BaseModel


class Folder(BaseModel):
    name: str
    children: list[Folder] = []


config = {
    "type": "api",
    "name": "GetTree",
    "method": "PUT",
    "path": "/tree/:root/:depth?",
    "bodySchema": Folder,
    "responseSchema": {200: Folder, 204: None},
    "emits": [],
}


async def handler(req, context):
    return {"status": 200, "body": req["body"]}
"""


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = copy_fixture("gt_typed", tmp_path_factory.mktemp("oa") / "shop")
    (root / "steps" / "tree_step.py").write_text(TREE_STEP)
    cmd = [sys.executable, "-m", "motia_core", "openapi", "--dir", str(root), "--api-version", "2.1.0"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads((root / "openapi.json").read_text())
    return doc


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)  # openapi-spec-validator: raises on any violation
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "gt_typed", "version": "2.1.0"}  # the folder's name
    assert document["tags"] == [{"name": "orders"}]


def test_paths_methods_and_params(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert sorted(paths) == ["/orders/{id}", "/shops/{shop}/orders", "/tree/{root}", "/tree/{root}/{depth}"]
    create = paths["/shops/{shop}/orders"]["post"]
    assert create["operationId"] == "CreateOrder"
    assert create["tags"] == ["orders"]
    assert create["description"] == "Create an order for a shop."
    assert create["parameters"] == [
        {"name": "shop", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "dryRun",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "validate only",
        },
    ]
    # an optional ':depth?' segment: a path without it and one with it as a required parameter
    assert [p["name"] for p in paths["/tree/{root}"]["put"]["parameters"]] == ["root"]
    assert [p["name"] for p in paths["/tree/{root}/{depth}"]["put"]["parameters"]] == ["root", "depth"]
    assert paths["/tree/{root}"]["put"]["operationId"] == "GetTree"
    assert paths["/tree/{root}/{depth}"]["put"]["operationId"] == "GetTreeWithDepth"


def test_bodies_and_responses_by_status(document: dict[str, Any]) -> None:
    create = document["paths"]["/shops/{shop}/orders"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["item", "qty"] and body["properties"]["qty"]["type"] == "integer"
    assert sorted(create["responses"]) == ["201", "400"]
    assert create["responses"]["201"]["description"] == "Created"
    created = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["properties"]["shop"] == {"type": "string"}
    get = document["paths"]["/orders/{id}"]["get"]
    assert get["responses"]["404"]["content"]["application/json"]["schema"]["required"] == ["error"]


def test_local_refs_move_to_components(document: dict[str, Any]) -> None:
    put = document["paths"]["/tree/{root}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GetTreeBody"}
    assert "content" not in put["responses"]["204"]  # a status declared without a schema
    tree = document["components"]["schemas"]["GetTreeBody"]
    assert tree["$ref"] == "#/components/schemas/GetTreeBody/$defs/Folder"
    children = tree["$defs"]["Folder"]["properties"]["children"]["items"]
    assert children == {"$ref": "#/components/schemas/GetTreeBody/$defs/Folder"}


def test_route_without_schemas_still_validates() -> None:
    from motia_core.project import RunnerName, StepFile
    from motia_core.steps import parse_step

    file = StepFile(Path("/p/steps/a.step.ts"), "steps/a.step.ts", "typescript", RunnerName("node"))
    config = {"type": "api", "name": "Ping", "method": "HEAD", "path": "/", "emits": []}
    doc = render_openapi([parse_step(file, json.dumps(config).encode(), True)], "t", "1")
    validate(doc)
    assert doc["paths"]["/"]["head"]["responses"] == {
        "default": {"description": "whatever the handler returns (no responseSchema)"}
    }
