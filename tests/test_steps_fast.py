"""steps.py's fast path (`plainly_valid`) against the pydantic models (step_models.py): every config
the fast path accepts, the models accept too, and the Step built is the one the models' values give.
The corpus is every base config with each key removed or replaced by each sample value."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from motia_core.project import StepFile
from motia_core.step_models import _MODELS, ApiConfig, CronConfig, EventConfig, Infrastructure, QueueInfra
from motia_core.steps import _KEYS, ConfigValidationError, QueueSettings, Step, StepType, parse_step, plainly_valid

BASES: list[dict[str, Any]] = [
    {
        "type": "api",
        "name": "A",
        "description": "d",
        "path": "/a/:id",
        "method": "post",
        "emits": ["t", {"topic": "u", "label": "L", "conditional": True}],
        "flows": ["f"],
        "bodySchema": {"type": "object"},
        "responseSchema": {"200": {"type": "object"}, "404": None},
        "queryParams": [{"name": "q", "description": "d"}],
        "middleware": [{"$function": "m"}],
        "virtualEmits": ["v"],
        "virtualSubscribes": ["w"],
        "includeFiles": ["x.txt"],
    },
    {"type": "event", "name": "E", "subscribes": ["t"], "emits": [], "input": {"type": "object"}, "flows": ["f"]},
    {"type": "cron", "name": "C", "cron": "*/5 * * * *", "emits": ["t"]},
    {"type": "noop", "name": "N", "virtualEmits": ["a"], "virtualSubscribes": ["b"]},
]
VALUES: list[Any] = [
    None,
    "",
    "x",
    "GET",
    "fetch",
    "/p",
    "p",
    "/__motia/x",
    "/a/{b}",
    "*/5 * * * *",
    "0 */5 * * * *",
    "bad cron",
    0,
    1,
    1.5,
    True,
    [],
    ["a"],
    [1],
    [None],
    [""],
    [{"topic": "t"}],
    [{"topic": ""}],
    [{"topic": "t", "x": 1}],
    [{"topic": "t", "label": 1}],
    [{"topic": "t", "conditional": "yes"}],
    [{"topic": "t", "conditional": None, "label": None}],
    [{"$function": "f"}],
    [{"function": "f"}],
    [{"$function": 1}],
    [{"name": "q"}],
    [{"name": "q", "description": 2}],
    [{"name": 1}],
    {},
    {"type": "object"},
    {"200": {}},
    {"200": 1},
    {"handler": {"timeout": 1}},
    {"handler": {"timeout": 0}},
    {"queue": {"type": "fifo", "maxRetries": 2}},
    {"queue": {"concurrency": 4, "delaySeconds": 1.5, "visibilityTimeout": 30}},
    {"topic": "t"},
]
KEYS = sorted({k for base in BASES for k in base} | {"subscribes", "input", "cron", "infrastructure", "extra"})


def _corpus() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for base in BASES:
        out.append(copy.deepcopy(base))
        for key in KEYS:
            if key == "type":
                continue
            if key in base:
                out.append({k: copy.deepcopy(v) for k, v in base.items() if k != key})
            for value in VALUES:
                out.append({**copy.deepcopy(base), key: copy.deepcopy(value)})
    return out


def _file(tmp_path: Path) -> StepFile:
    path = tmp_path / "x.step.ts"
    path.write_text("export const config = {}\n")
    return StepFile(path, "x.step.ts", "typescript", "node")


def _expected(file: StepFile, raw: dict[str, Any]) -> Step:
    """The Step as built from the models' values (how steps.py built it before the fast path)."""
    cfg = _MODELS[raw["type"]].model_validate(raw)
    common: dict[str, Any] = {"file": file, "name": cfg.name, "config": raw, "flows": tuple(cfg.flows)}
    topics = tuple(e if isinstance(e, str) else e.topic for e in getattr(cfg, "emits", []))
    if isinstance(cfg, ApiConfig):
        h = cfg.infrastructure.handler if cfg.infrastructure else None
        timeout = float(h.timeout) if h and h.timeout else None
        return Step(
            type=StepType.API,
            handler_timeout=timeout,
            emits=topics,
            path=cfg.path,
            method=cfg.method,
            body_schema=cfg.bodySchema,
            **common,
        )
    if isinstance(cfg, EventConfig):
        infra = cfg.infrastructure or Infrastructure()
        q = infra.queue or QueueInfra()
        queue = QueueSettings(
            fifo=q.type == "fifo",
            max_retries=q.maxRetries if q.maxRetries is not None else 3,
            concurrency=1 if q.type == "fifo" else (q.concurrency or 32),
            delay_seconds=float(q.delaySeconds or 0),
            visibility_timeout=float(q.visibilityTimeout or 900),
        )
        t = infra.handler.timeout if infra.handler else None
        return Step(
            type=StepType.EVENT,
            emits=topics,
            subscribes=tuple(cfg.subscribes),
            input_schema=cfg.input,
            queue=queue,
            handler_timeout=float(t) if t is not None else None,
            **common,
        )
    if isinstance(cfg, CronConfig):
        return Step(type=StepType.CRON, emits=topics, cron=cfg.cron, **common)
    return Step(type=StepType.NOOP, **common)


def _models_accept(raw: dict[str, Any]) -> bool:
    try:
        _MODELS[raw["type"]].model_validate(raw)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return False
    return True


@pytest.mark.timeout(120)
def test_the_fast_path_accepts_only_what_the_models_accept_and_builds_the_same_step(tmp_path: Path) -> None:
    file = _file(tmp_path)
    fast = models_only = rejected = 0
    for raw in _corpus():
        accepted = _models_accept(raw)
        if plainly_valid(raw):
            fast += 1
            assert accepted, f"the fast path accepted a config the models reject: {raw}"
        elif accepted:
            models_only += 1
        else:
            rejected += 1
        if accepted:
            assert parse_step(file, orjson.dumps(raw), True) == _expected(file, raw), raw
        else:
            with pytest.raises(ConfigValidationError):
                parse_step(file, orjson.dumps(raw), True)
    # the corpus exercises all three outcomes, so none of the assertions above is vacuous
    assert fast > 100 and models_only > 5 and rejected > 500, (fast, models_only, rejected)


def test_plainly_valid_configs_never_import_pydantic_and_an_invalid_one_does(tmp_path: Path) -> None:
    code = f"""
import json, sys
from pathlib import Path
import orjson
from motia_core.project import StepFile
from motia_core.steps import ConfigValidationError, parse_step
f = StepFile(Path({str(tmp_path / "x.step.ts")!r}), "x.step.ts", "typescript", "node")
for raw in {BASES!r}:
    parse_step(f, orjson.dumps(raw), True)
before = "pydantic" in sys.modules
try:
    parse_step(f, orjson.dumps({{"type": "api", "name": "A", "path": "/a", "method": "GET", "emits": [1]}}), True)
except ConfigValidationError as exc:
    issues = [[i.field, i.message] for i in exc.issues]
print(json.dumps([before, "pydantic" in sys.modules, issues]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    before, after, issues = json.loads(out.stdout)
    assert (before, after) == (False, True)
    # the slow path's issues, as before the fast path existed (one per union branch tried)
    assert issues == [
        ["config.emits[0]", "expected a string, got number 1"],
        ["config.emits[0]", "expected an object, got number 1"],
    ]


def test_the_fast_paths_keys_are_the_models_keys() -> None:
    # a key added to a model but not to steps._KEYS only sends its configs to the models; the other
    # way round the fast path would accept a key the models reject, so the two lists must agree
    for kind, model in _MODELS.items():
        fields = {f.alias or name for name, f in model.model_fields.items()}
        assert fields == _KEYS[kind], kind
