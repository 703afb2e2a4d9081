"""Structured logs: one record type, a pretty renderer for terminals and a JSON-lines renderer.

Every record carries time, level, message, and when known the step, trace id and language, so a
line from a Python handler, a runner's stderr and the core itself read alike.

Logging never blocks or fails its caller (docs/delivery.md#storage-faults). A stream with a file
descriptor (stdout, a pipe, a file, a terminal) is written by a background thread from a bounded
buffer: the event loop only appends a line. When the output is slow or blocked (a pipe nobody
reads, a terminal on Ctrl-S) the buffer fills and further lines are dropped and counted; when a
write fails (ENOSPC on a full disk or /dev/full, EPIPE on a closed pipe) its lines are dropped and
counted. The count is logged as soon as a write works again, or at exit to stderr.
"""

from __future__ import annotations

import atexit
import collections
import enum
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable
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
        self._color = fmt == "pretty" and _isatty(self.stream) and "NO_COLOR" not in os.environ
        self._out = _output_for(self.stream, self._drop_notice)
        # called with every record emitted (e.g. logstore.LogRecorder): each must only take note, never block
        self.sinks: list[Callable[[LogRecord], None]] = []

    def enabled(self, level: Level) -> bool:
        return level >= self.level

    def emit(self, record: LogRecord) -> None:
        if record.level < self.level:
            return
        line = self._json(record) if self.format == "json" else self._pretty(record)
        self._out.write(line + "\n")
        for sink in self.sinks:
            sink(record)

    @property
    def dropped(self) -> int:
        """Lines dropped so far because the output failed or could not keep up."""
        return self._out.dropped

    def close(self, timeout: float = 2.0) -> None:
        """Write what is buffered (waiting at most `timeout` seconds) and stop the writer."""
        self._out.close(timeout)

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

    def _drop_notice(self, count: int, why: str) -> str:
        message = f"{count} log line(s) were dropped: {why}"
        record = LogRecord(Level.WARN, message, fields={"dropped": count})
        return (self._json(record) if self.format == "json" else self._pretty(record)) + "\n"

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
        parts = [f"{_second(r.time, 'local')}.{int(r.time * 1000) % 1000:03d}", level]
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


_seconds: dict[str, tuple[int, str]] = {"utc": (-1, ""), "local": (-1, "")}  # the last second rendered


def _second(t: float, zone: str) -> str:
    """The time to the second, rendered once per second rather than once per line."""
    whole = int(t)
    cached = _seconds[zone]
    if cached[0] != whole:
        text = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            if zone == "utc"
            else time.strftime("%H:%M:%S", time.localtime(whole))
        )
        cached = _seconds[zone] = (whole, text)
    return cached[1]


def _iso(t: float) -> str:
    return f"{_second(t, 'utc')}.{int(t * 1000) % 1000:03d}Z"


_STD_LEVELS = ((Level.ERROR, logging.ERROR), (Level.WARN, logging.WARNING), (Level.INFO, logging.INFO))


class _Forward(logging.Handler):
    """Python's `logging` records (asyncio's, aiohttp's, grpc's) into a Logger."""

    def __init__(self, logger: Logger) -> None:
        super().__init__()
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        level = next((lv for lv, at in _STD_LEVELS if record.levelno >= at), Level.DEBUG)
        fields: dict[str, Any] = {"logger": record.name}
        if record.exc_info:
            fields["stack"] = logging.Formatter().formatException(record.exc_info)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in someone's log call
            message = str(record.msg)
        self._logger.log(level, message, **fields)


def capture_std_logging(logger: Logger) -> None:
    """Send Python's `logging` through `logger`: formatted like every other line, and never a
    blocking write to stderr from the event loop (logging's fallback handler writes to stderr
    directly, and a stuck stderr pipe would freeze the core)."""
    root = logging.getLogger()
    if not any(isinstance(h, _Forward) for h in root.handlers):
        root.addHandler(_Forward(logger))


MAX_PENDING_CHARS = 4 * 1024 * 1024  # log text waiting for a slow output, at most; beyond it lines drop
BATCH_WAIT = 0.002  # seconds the writer lets lines gather after it was woken
Notice = Callable[[int, str], str]  # (lines dropped, why) -> a rendered log line saying so


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _output_for(stream: TextIO, notice: Notice) -> _DirectOutput | _ThreadedOutput:
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.StringIO and friends: in memory, they cannot block
        return _DirectOutput(stream, notice)
    return _ThreadedOutput(stream, fd, notice)


class _DirectOutput:
    """A stream without a file descriptor, written on the caller's thread."""

    def __init__(self, stream: TextIO, notice: Notice) -> None:
        self._stream = stream
        self._notice = notice
        self.dropped = 0
        self._unreported = 0
        self._why = ""

    def write(self, text: str) -> None:
        try:
            if self._unreported:
                self._stream.write(self._notice(self._unreported, self._why))
                self._unreported = 0
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self.dropped += 1
            self._unreported += 1
            self._why = f"the log output failed ({exc})"

    def close(self, timeout: float) -> None:
        pass


class _ThreadedOutput:
    """Lines go into a bounded buffer; one daemon thread writes them to the file descriptor.

    The caller's side takes no lock: a deque append and two counters, each counter written by one
    side only (the caller is the event loop thread; another caller thread would at worst blur the
    size estimate, never block)."""

    def __init__(self, stream: TextIO, fd: int, notice: Notice, limit: int = MAX_PENDING_CHARS) -> None:
        self._fd = fd
        self._notice = notice
        self._limit = limit
        self._lines: collections.deque[str] = collections.deque()
        self._wake = threading.Event()
        self._idle = False  # the writer waits for _wake
        self._closing = False
        self._appended = 0  # characters appended (caller side)
        self._refused = 0  # lines refused because the buffer was full (caller side)
        self._taken = 0  # characters written or dropped by the writer (writer side, like those below)
        self._refused_seen = 0
        self._failed = 0  # lines whose write failed
        self._left = 0  # lines still buffered when close gave up
        self._unreported = 0
        self._why = ""
        try:  # what the stream buffered before us goes first
            stream.flush()
        except (OSError, ValueError):
            pass
        self._thread = threading.Thread(target=self._run, name="motia-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close, 2.0)

    @property
    def dropped(self) -> int:
        return self._refused + self._failed + self._left

    def write(self, text: str) -> None:
        if self._appended - self._taken > self._limit:
            self._refused += 1
            return
        self._lines.append(text)
        self._appended += len(text)
        if self._idle:
            self._idle = False
            self._wake.set()

    def close(self, timeout: float) -> None:
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        self._left = len(self._lines)  # still blocked (a pipe nobody reads): what is left is lost
        lost = self._unreported + self._left + self._refused - self._refused_seen
        if lost:
            why = self._why or "the log output was blocked"
            _tell_stderr(f"motia-core: {lost} log line(s) were dropped: {why}\n")

    def _run(self) -> None:
        while True:
            if not self._lines and not self._closing:
                self._idle = True
                if not self._lines and not self._closing:  # again: a line may have come in meanwhile
                    self._wake.wait()
                self._wake.clear()
                self._idle = False
                if not self._closing:
                    time.sleep(BATCH_WAIT)  # let a burst gather: one write per batch, not a hand-off per line
            batch = [self._lines.popleft() for _ in range(len(self._lines))]
            refused = self._refused
            if refused != self._refused_seen:
                self._unreported += refused - self._refused_seen
                self._refused_seen = refused
                self._why = f"the log output was too slow (more than {self._limit // 1024} KiB waiting)"
            if batch:
                self._write_lines(batch)
                self._taken += sum(map(len, batch))  # only now: a batch being written still counts as held
            elif self._closing:
                return

    def _write_lines(self, lines: list[str]) -> None:
        if self._unreported:
            if self._write_all(self._notice(self._unreported, self._why).encode("utf-8", "replace")) is not None:
                self._lost(len(lines))
                return
            self._unreported = 0
        data = "".join(lines).encode("utf-8", "replace")
        failed_at = self._write_all(data)
        if failed_at is not None:
            self._lost(max(1, data.count(b"\n", failed_at)))

    def _lost(self, count: int) -> None:
        self._unreported += count
        self._failed += count

    def _write_all(self, data: bytes) -> int | None:
        """Write everything; None when done, else the offset where writing failed."""
        view = memoryview(data)
        done = 0
        while done < len(data):
            try:
                done += os.write(self._fd, view[done:])
            except BlockingIOError:  # someone made the descriptor non-blocking: wait until it drains
                select.select([], [self._fd], [], 1.0)
            except InterruptedError:
                continue
            except OSError as exc:
                self._why = f"the log output failed ({exc.strerror or exc})"
                return done
        return None


def _tell_stderr(text: str) -> None:
    """Best effort, never blocking the exit for long: stderr may be the same stuck pipe."""

    def write() -> None:
        try:
            os.write(2, text.encode("utf-8", "replace"))
        except OSError:
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(0.5)
