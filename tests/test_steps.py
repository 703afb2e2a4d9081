"""Config validation: strict, with file + field + line, yet accepting what real Motia projects use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from motia_core.project import RunnerName, StepFile
from motia_core.steps import ConfigValidationError, StepType, parse_step


def _file(tmp_path: Path, name: str = "steps/x_step.py", source: str = "") -> StepFile:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return StepFile(path, name, "python", RunnerName("python"))


def _parse(tmp_path: Path, config: dict[str, Any], source: str = "", has_handler: bool = True) -> Any:
    return parse_step(_file(tmp_path, source=source), orjson.dumps(config), has_handler)


def _issues(tmp_path: Path, config: dict[str, Any], source: str = "") -> dict[str, Any]:
    with pytest.raises(ConfigValidationError) as info:
        _parse(tmp_path, config, source)
    return {i.field: i for i in info.value.issues}


def test_every_key_real_motia_projects_use_is_accepted(tmp_path: Path) -> None:
    api = {
        "type": "api",
        "name": "CreateTodo",
        "description": "d",
        "path": "/todos/:id",
        "method": "post",
        "emits": ["todo.created", {"topic": "todo.audit", "label": "audit", "conditional": True}],
        "virtualEmits": [{"topic": "x", "label": "y"}],
        "virtualSubscribes": ["z"],
        "flows": ["todos"],
        "middleware": [{"$function": "auth"}],
        "bodySchema": {"type": "object", "properties": {"a": {"type": "string"}}},
        "responseSchema": {"200": {"type": "object", "properties": {}}, "400": None},
        "queryParams": [{"name": "q", "description": "query"}],
        "includeFiles": ["../data/*.json"],
    }
    step = _parse(tmp_path, api)
    assert step.type is StepType.API
    assert step.method == "POST"
    assert step.emits == ("todo.created", "todo.audit")
    event = {
        "type": "event",
        "name": "OnTodo",
        "subscribes": ["todo.created"],
        "emits": [],
        "input": None,
        "infrastructure": {
            "handler": {"timeout": 10, "ram": 256},
            "queue": {"type": "fifo", "maxRetries": 5, "visibilityTimeout": 30, "delaySeconds": 1},
        },
    }
    step = _parse(tmp_path, event)
    assert step.queue.fifo and step.queue.max_retries == 5 and step.queue.concurrency == 1
    assert step.handler_timeout == 10
    cron = {"type": "cron", "name": "Hourly", "cron": "0 */1 * * *", "emits": []}
    assert _parse(tmp_path, cron).cron == "0 */1 * * *"
    six = {"type": "cron", "name": "Secs", "cron": "*/5 * * * * *"}
    assert _parse(tmp_path, six).emits == ()
    noop = {"type": "noop", "name": "N", "virtualEmits": ["a"], "virtualSubscribes": []}
    assert _parse(tmp_path, noop, has_handler=False).type is StepType.NOOP


def test_unknown_key_is_rejected_with_its_line(tmp_path: Path) -> None:
    source = 'config = {\n    "type": "api",\n    "name": "A",\n    "input": {},\n}\n'
    issues = _issues(tmp_path, {"type": "api", "name": "A", "path": "/a", "method": "GET", "input": {}}, source)
    assert issues["config.input"].message.startswith("unknown key")
    assert issues["config.input"].line == 4
    assert str(issues["config.input"]).startswith("steps/x_step.py:4: config.input: unknown key")


def test_wrong_types_name_the_field_and_what_was_expected(tmp_path: Path) -> None:
    issues = _issues(tmp_path, {"type": "event", "name": 3, "subscribes": "t", "emits": [1]})
    assert "string" in issues["config.name"].message
    assert "array" in issues["config.subscribes"].message
    assert "config.emits[0]" in issues


def test_missing_required_keys(tmp_path: Path) -> None:
    issues = _issues(tmp_path, {"type": "api", "name": "A"})
    assert issues["config.path"].message == "required key is missing"
    assert issues["config.method"].message == "required key is missing"


@pytest.mark.parametrize(
    ("config", "field", "needle"),
    [
        ({"type": "api", "name": "A", "path": "/a", "method": "FETCH"}, "config.method", "FETCH"),
        ({"type": "api", "name": "A", "path": "a", "method": "GET"}, "config.path", "must start with '/'"),
        ({"type": "cron", "name": "C", "cron": "61 * * * *"}, "config.cron", "invalid cron"),
        ({"type": "job", "name": "J"}, "config.type", "api, event, cron, noop"),
        (
            {"type": "event", "name": "E", "subscribes": ["t"], "infrastructure": {"queue": {"type": "lifo"}}},
            "config.infrastructure.queue.type",
            "lifo",
        ),
    ],
)
def test_bad_values(tmp_path: Path, config: dict[str, Any], field: str, needle: str) -> None:
    issues = _issues(tmp_path, config)
    assert needle in issues[field].message


def test_a_step_without_handler_is_invalid_unless_noop(tmp_path: Path) -> None:
    with pytest.raises(ConfigValidationError) as info:
        _parse(tmp_path, {"type": "api", "name": "A", "path": "/a", "method": "GET"}, has_handler=False)
    assert info.value.issues[0].field == "handler"
