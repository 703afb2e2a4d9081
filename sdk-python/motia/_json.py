"""JSON encoding shared by the context, the runner and the test helpers.

orjson is used when it can be imported (it is much faster); the standard library otherwise, since
the runner may run under a project's interpreter that lacks it. Both paths accept the same values:
JSON types, int dict keys (``responseSchema`` is often keyed by ``200``), pydantic models (dumped
with ``model_dump(mode="json")``), dataclasses, datetimes, UUIDs and enums.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import traceback
import uuid
from typing import Any

from ._errors import NotJsonError

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the interpreter the runner runs under
    _HAVE_ORJSON = False
else:
    _HAVE_ORJSON = True
    _ORJSON_OPTIONS = _orjson.OPT_NON_STR_KEYS | _orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    """Turn the few non-JSON types we accept into JSON types (``default`` hook of both encoders)."""
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        return model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def exception_fields(exc: BaseException) -> dict[str, str]:
    """How an exception appears inside log fields: ``{message, stack, name}``."""
    return {
        "message": str(exc),
        "stack": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "name": type(exc).__name__,
    }


def _lenient_default(value: Any) -> Any:
    if isinstance(value, BaseException):
        return exception_fields(value)
    try:
        return _default(value)
    except Exception:
        return repr(value)


def _stdlib_dumps(value: Any, default: Any) -> bytes:
    return json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":")).encode()


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON; raise NotJsonError naming the offending type."""
    if _HAVE_ORJSON:
        try:
            return _orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS)
        except TypeError as exc:
            first = exc
        # orjson refuses a few things the standard library accepts (integers above 64 bits).
    try:
        return _stdlib_dumps(value, _default)
    except (TypeError, ValueError) as exc:
        raise NotJsonError(str(first if _HAVE_ORJSON else exc)) from None


def dumps_lenient(value: Any) -> bytes:
    """Encode for logs: exceptions become ``{message, stack, name}``, anything else unknown its repr.

    Never raises.
    """
    if _HAVE_ORJSON:
        try:
            return _orjson.dumps(value, default=_lenient_default, option=_ORJSON_OPTIONS)
        except TypeError:
            pass
    try:
        return _stdlib_dumps(value, _lenient_default)
    except (TypeError, ValueError):
        return _stdlib_dumps(repr(value), None)


def loads(data: bytes | str) -> Any:
    """Decode JSON; raise ValueError when it does not parse."""
    if _HAVE_ORJSON:
        return _orjson.loads(data)
    return json.loads(data)


def loads_or_none(data: bytes) -> Any:
    """Decode a reply value: empty bytes mean null."""
    return loads(data) if data else None
