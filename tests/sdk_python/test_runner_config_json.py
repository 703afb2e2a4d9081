from __future__ import annotations

import datetime
import enum
import functools
import json
from typing import Any

import pytest
from pydantic import BaseModel

from motia_runner.config_json import function_name, middleware_count, serialize_config
from motia_runner.errors import ConfigNotJsonError


class Order(BaseModel):
    sku: str
    qty: int = 1


class Color(str, enum.Enum):  # noqa: UP042 - the mixin form is what step files use
    RED = "red"


async def auth(req: Any, ctx: Any, next_fn: Any) -> Any:
    return await next_fn()


def _config(value: dict[str, Any]) -> Any:
    return json.loads(serialize_config(value))


def test_plain_json_is_verbatim() -> None:
    config = {"type": "api", "name": "A", "emits": ["a", {"topic": "b", "label": "B"}], "n": 1.5, "ok": True, "x": None}
    assert _config(config) == config


def test_functions_become_markers() -> None:
    config = {"middleware": [auth, lambda r, c, n: None, functools.partial(auth)], "canAccess": print}
    assert _config(config) == {
        "middleware": [{"$function": "auth"}, {"$function": "anonymous"}, {"$function": "auth"}],
        "canAccess": {"$function": "print"},
    }
    assert middleware_count(config) == 3
    assert middleware_count({"middleware": "nope"}) == 0 and middleware_count({}) == 0


def test_pydantic_models_become_json_schema() -> None:
    config = _config({"bodySchema": Order, "input": Order, "responseSchema": {200: Order, "400": {"type": "object"}}})
    assert config["bodySchema"] == Order.model_json_schema()
    assert config["input"]["required"] == ["sku"]
    assert config["responseSchema"] == {"200": Order.model_json_schema(), "400": {"type": "object"}}


def test_enums_tuples_and_int_keys() -> None:
    assert _config({"c": Color.RED, "t": (1, 2), "r": {200: "ok"}}) == {"c": "red", "t": [1, 2], "r": {"200": "ok"}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"infrastructure": {"when": datetime.datetime(2020, 1, 1)}},
            "config.infrastructure.when: datetime is not JSON",
        ),
        ({"emits": ["a", {1, 2}]}, r"config.emits\[1\]: set is not JSON"),
        ({"n": float("nan")}, "config.n: nan is not JSON"),
        ({"r": {1.5: "x"}}, "config.r: key 1.5 is not a string"),
        ({"b": b"raw"}, "config.b: bytes is not JSON"),
    ],
)
def test_values_that_are_not_json_name_their_path(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigNotJsonError, match=message):
        serialize_config(config)


def test_circular_references_are_reported() -> None:
    config: dict[str, Any] = {}
    config["self"] = config
    with pytest.raises(ConfigNotJsonError, match="config.self: circular reference"):
        serialize_config(config)


def test_function_name() -> None:
    class Callable_:
        def __call__(self) -> None: ...

    assert function_name(auth) == "auth"
    assert function_name(lambda: None) == "anonymous"
    assert function_name(Callable_()) == "Callable_"
