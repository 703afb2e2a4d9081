"""API request bodies: parsed as Motia's body parsers would, into (value, its JSON encoding)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson


class BadBody:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def parse_body(content_type: str, raw: bytes) -> tuple[Any, bytes] | BadBody:
    """(value, its JSON encoding) as Motia's body parsers would produce it."""
    if not raw.strip():
        return {}, b"{}"
    if (
        content_type == "application/json"
        or content_type.endswith("+json")
        or (content_type in ("", "application/octet-stream") and raw.lstrip()[:1] in (b"{", b"["))
    ):
        try:
            return orjson.loads(raw), raw
        except orjson.JSONDecodeError as exc:
            return BadBody(f"malformed JSON: {exc}")
    if content_type == "application/x-www-form-urlencoded":
        form: dict[str, Any] = {}
        for key, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
            add_value(form, key, value)
        return form, orjson.dumps(form)
    text = raw.decode("utf-8", errors="replace")
    return text, orjson.dumps(text)


def add_value(target: dict[str, Any], key: str, value: str) -> None:
    old = target.get(key)
    if old is None:
        target[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        target[key] = [old, value]
