"""``context.emit`` with Motia 0.x's lenient edges (docs/compatibility.md, "Lenient edges").

Motia drops an emit it cannot deliver and lets the handler finish: positional arguments
(``emit("topic", data)``), a non-dict argument, a dict without a topic, a topic the step does not
declare. So does motia-core, but never silently: a warning names the file and line of the emit call,
with structured fields the core recognises (``{"motia": "emit_dropped", "reason", "topic"?, "file"?,
"line"?}``) to count the drop in /metrics and to add an ``emit_dropped`` event to the step's span.
``serve --strict`` (``MOTIA_STRICT=1`` in the runner's environment) turns each into a ``TypeError``
in the handler, as before.

The shape is only visible here; an undeclared topic is decided by the core, which answers such an
emit with ``{"dropped": "undeclared_topic", "message": ...}`` instead of null.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from . import _json

_STRICT_OFF = frozenset({"", "0", "false", "no"})
_SDK_PREFIX = os.path.dirname(os.path.abspath(__file__)) + os.sep


def strict_emits() -> bool:
    """``MOTIA_STRICT`` as the core sets it for its runners (``serve --strict``)."""
    return os.environ.get("MOTIA_STRICT", "").strip().lower() not in _STRICT_OFF


def call_site(depth: int = 2) -> tuple[str, int] | None:
    """File and line of the first frame outside the SDK, starting ``depth`` frames up. Taken at every
    emit, so it only reads the frame (well under a microsecond); the path is made relative to the
    project when a drop is reported (:func:`where`, :func:`drop_fields`)."""
    try:
        frame: Any = sys._getframe(depth)
    except ValueError:
        return None
    while frame is not None and frame.f_code.co_filename.startswith(_SDK_PREFIX):
        frame = frame.f_back
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


def _relative(file: str) -> str:
    root = os.environ.get("MOTIA_PROJECT_DIR") or os.getcwd()
    try:
        rel = os.path.relpath(file, root)
    except ValueError:  # another drive (Windows)
        return file
    return file if rel.startswith("..") else rel


def _preview(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__}"
    return repr(value) if value is None or isinstance(value, (int, float, bool)) else f"a {type(value).__name__}"


def shape_problem(event: Any, rest: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[str, str | None, str] | None:
    """``(reason, topic, what)`` when the arguments are not one ``{"topic", "data"}`` dict."""
    if isinstance(event, str):
        more = ", …" if rest or kwargs else ""
        what = (
            f"emit({_preview(event)}{more}) passes positional arguments; an event is one dict: "
            f'emit({{"topic": {_preview(event)}, "data": ...}})'
        )
        return "positional", event, what
    if event is None and kwargs:
        names = ", ".join(f"{k}=..." for k in kwargs)
        return "not_object", None, f"emit({names}) passes keyword arguments; an event is one dict: emit({{...}})"
    if not isinstance(event, Mapping):
        return "not_object", None, f"emit({_preview(event)}) needs a dict like {{'topic': ..., 'data': ...}}"
    topic = event.get("topic")
    if not isinstance(topic, str) or not topic:
        shown = "missing" if topic is None else _preview(topic)
        return "no_topic", None, f"emit() got an event without a topic (topic is {shown}); it needs a non-empty string"
    return None


def where(site: tuple[str, int] | None) -> str:
    return f" ({_relative(site[0])}:{site[1]})" if site else ""


def drop_fields(reason: str, topic: str | None, site: tuple[str, int] | None) -> bytes:
    fields: dict[str, Any] = {"motia": "emit_dropped", "reason": reason}
    if topic is not None:
        fields["topic"] = topic
    if site:
        fields["file"], fields["line"] = _relative(site[0]), site[1]
    return _json.dumps_lenient(fields)


def dropped_reply(raw: bytes) -> tuple[str, str] | None:
    """``(reason, message)`` when the core answered an emit with "dropped" (an undeclared topic)."""
    if not raw or raw[:1] != b"{":  # the usual reply is null: no decoding on the hot path
        return None
    try:
        value = _json.loads_or_none(raw)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("dropped"), str):
        return None
    message = value.get("message")
    return value["dropped"], message if isinstance(message, str) else f"emit dropped ({value['dropped']})"
