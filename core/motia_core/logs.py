"""Structured logs: one record type, a pretty renderer for terminals and a JSON-lines renderer.

Every record carries time, level, message, and when known the step, trace id and language, so a
line from a Python handler, a runner's stderr and the core itself read alike.
"""

from __future__ import annotations

import enum
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson


class Level(enum.IntEnum):
    DEBUG = 10
    INFO = 20
    WARN = 30
    ERROR = 40

    @classmethod
    def parse(cls, name: str) -> Level:
        aliases = {"warning": "warn", "critical": "error", "fatal": "error", "trace": "debug"}
        key = aliases.get(name.lower(), name.lower())
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError(f"unknown log level {name!r}: expected debug, info, warn or error") from None


@dataclass
class LogRecord:
    level: Level
    message: str
    step: str | None = None
    trace_id: str | None = None
    language: str | None = None
    source: str = "core"  # core | step | runner:<lang>
    fields: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class Logger:
    """Renders records to a stream; pretty or JSON lines."""

    def __init__(self, fmt: str = "pretty", level: Level = Level.INFO, stream: TextIO | None = None) -> None:
        if fmt not in ("pretty", "json"):
            raise ValueError(f"unknown log format {fmt!r}: expected pretty or json")
        self.format = fmt
        self.level = level
        self.stream = stream or sys.stdout
        self._color = fmt == "pretty" and self.stream.isatty() and "NO_COLOR" not in os.environ

    def enabled(self, level: Level) -> bool:
        return level >= self.level

    def emit(self, record: LogRecord) -> None:
        if record.level < self.level:
            return
        line = self._json(record) if self.format == "json" else self._pretty(record)
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def log(self, level: Level, message: str, **fields: Any) -> None:
        if level < self.level:
            return
        step = fields.pop("step", None)
        trace_id = fields.pop("trace_id", None)
        language = fields.pop("language", None)
        source = fields.pop("source", "core")
        self.emit(LogRecord(level, message, step, trace_id, language, source, fields))

    def debug(self, message: str, **fields: Any) -> None:
        self.log(Level.DEBUG, message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log(Level.INFO, message, **fields)

    def warn(self, message: str, **fields: Any) -> None:
        self.log(Level.WARN, message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log(Level.ERROR, message, **fields)

    def _json(self, r: LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _iso(r.time),
            "level": r.level.name.lower(),
            "msg": r.message,
            "source": r.source,
        }
        if r.step:
            doc["step"] = r.step
        if r.trace_id:
            doc["traceId"] = r.trace_id
        if r.language:
            doc["language"] = r.language
        for k, v in r.fields.items():
            doc.setdefault(k, v)
        return orjson.dumps(doc, default=str).decode()

    def _pretty(self, r: LogRecord) -> str:
        colors = {Level.DEBUG: "90", Level.INFO: "36", Level.WARN: "33", Level.ERROR: "31"}
        level = r.level.name.ljust(5)
        if self._color:
            level = f"\x1b[{colors[r.level]}m{level}\x1b[0m"
        parts = [time.strftime("%H:%M:%S", time.localtime(r.time)) + f".{int(r.time * 1000) % 1000:03d}", level]
        if r.trace_id:
            parts.append(r.trace_id)
        who = r.step or r.source
        if r.language:
            who += f" ({r.language})"
        parts.append(f"[{who}]")
        parts.append(r.message)
        line = " ".join(parts)
        extra = {k: v for k, v in r.fields.items() if k != "stack"}
        if extra:
            line += " " + orjson.dumps(extra, default=str).decode()
        stack = r.fields.get("stack")
        if isinstance(stack, str) and stack:
            line += "\n    " + stack.rstrip().replace("\n", "\n    ")
        return line


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
