from __future__ import annotations

import io
import json

import pytest

from motia_core.logs import Level, Logger, LogRecord


def test_json_lines_carry_time_level_step_trace_and_language() -> None:
    out = io.StringIO()
    Logger("json", Level.DEBUG, out).emit(
        LogRecord(Level.WARN, "hello", "Step", "ABCDE-1", "python", "step", {"n": 1}, time=0.5)
    )
    doc = json.loads(out.getvalue())
    assert doc == {
        "time": "1970-01-01T00:00:00.500Z",
        "level": "warn",
        "msg": "hello",
        "source": "step",
        "step": "Step",
        "traceId": "ABCDE-1",
        "language": "python",
        "n": 1,
    }


def test_pretty_lines_show_trace_step_language_fields_and_stack() -> None:
    out = io.StringIO()
    Logger("pretty", Level.INFO, out).emit(
        LogRecord(Level.ERROR, "boom", "Step", "ABCDE-1", "typescript", "step", {"stack": "Error\n  at x"})
    )
    first, *rest = out.getvalue().splitlines()
    assert "ERROR ABCDE-1 [Step (typescript)] boom" in first
    assert rest == ["    Error", "      at x"]
    assert "\x1b[" not in first  # no colour when not a terminal


def test_level_filter_and_parsing() -> None:
    out = io.StringIO()
    logger = Logger("json", Level.parse("warning"), out)
    logger.info("hidden")
    logger.error("shown")
    assert [json.loads(line)["msg"] for line in out.getvalue().splitlines()] == ["shown"]
    with pytest.raises(ValueError, match="unknown log level"):
        Level.parse("loud")
