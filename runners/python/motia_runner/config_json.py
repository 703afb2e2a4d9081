"""A step's ``config`` as the JSON the core validates (``StepManifest.config_json``).

Verbatim, except:

* callables (middleware entries, ``canAccess``, ...) become ``{"$function": "<name>"}``
  (``"anonymous"`` for lambdas);
* pydantic model classes become their JSON Schema (``model_json_schema()``, or ``schema()`` for
  pydantic v1). Motia puts them under ``input``, ``bodySchema`` and ``responseSchema.<status>``; a
  model class is converted wherever it appears, since it is never meant as a function;
* enums become their value, tuples lists, int dict keys strings (``responseSchema: {200: ...}``).

Anything else that JSON cannot hold raises :class:`ConfigNotJsonError` naming the path, e.g.
``config.foo.bar: datetime is not JSON``.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Mapping
from typing import Any

from motia import _json

from .errors import ConfigNotJsonError


def function_name(fn: Any) -> str:
    """The name a callable is reported under; ``anonymous`` when it has none worth showing."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        name = type(fn).__name__
    return "anonymous" if not name or name.startswith("<") else name


def _model_schema(model: type, path: str) -> Any:
    try:
        generate = getattr(model, "model_json_schema", None)
        schema = generate() if callable(generate) else model.schema()  # type: ignore[attr-defined]
    except Exception as exc:
        raise ConfigNotJsonError(
            f"{path}: {model.__name__}.model_json_schema() failed: {type(exc).__name__}: {exc}"
        ) from exc
    return _convert(schema, path, set())


def _is_model_class(value: Any) -> bool:
    if not isinstance(value, type):
        return False
    if callable(getattr(value, "model_json_schema", None)):
        return True
    return hasattr(value, "__fields__") and callable(getattr(value, "schema", None))  # pydantic v1


def _key(key: Any, path: str) -> str:
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return str(int(key))
    raise ConfigNotJsonError(f"{path}: key {key!r} is not a string ({type(key).__name__} keys are not JSON)")


def _convert(value: Any, path: str, active: set[int]) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _convert(value.value, path, active)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigNotJsonError(f"{path}: {value} is not JSON (JSON has no NaN or Infinity)")
        return float(value)
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in active:
            raise ConfigNotJsonError(f"{path}: circular reference")
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                out: dict[str, Any] = {}
                for key, item in value.items():
                    name = _key(key, path)
                    out[name] = _convert(item, f"{path}.{name}", active)
                return out
            return [_convert(item, f"{path}[{index}]", active) for index, item in enumerate(value)]
        finally:
            active.discard(id(value))
    if _is_model_class(value):
        return _model_schema(value, path)
    if callable(value):
        return {"$function": function_name(value)}
    raise ConfigNotJsonError(f"{path}: {type(value).__name__} is not JSON")


def middleware_count(config: Mapping[str, Any]) -> int:
    """Entries of ``config["middleware"]`` that are callables."""
    entries = config.get("middleware")
    if not isinstance(entries, (list, tuple)):
        return 0
    return sum(1 for entry in entries if callable(entry))


def serialize_config(config: Mapping[str, Any]) -> bytes:
    """The config as compact JSON bytes; raises ConfigNotJsonError naming the offending path."""
    return _json.dumps(_convert(config, "config", set()))
