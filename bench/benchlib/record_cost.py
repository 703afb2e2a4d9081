"""CPU time one recorded log line costs, measured in one process (no server, no load generator):
the same lines through the core's Logger with and without its LogRecorder sink on a SQLite log
store, CPU of every thread (time.process_time) per line. CPU time, unlike throughput, is barely
moved by what else runs on the machine, so it checks the recording pair's noisy ratios.

    python bench/benchlib/record_cost.py [--lines 30000] [--reps 3]   # prints JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import uvloop

from motia_core.logs import Level, Logger, LogRecord
from motia_core.logstore import FLUSH_LINES, LogRecorder, SqliteLogStorage

BURST = 16  # lines emitted between two turns of the event loop: c16's requests in flight


def _line(i: int) -> LogRecord:
    # what a handler's `logger.info('bench request handled', {lang})` becomes in the core (calls.py log)
    return LogRecord(
        level=Level.INFO,
        message="bench request handled",
        step="LogTs",
        trace_id=f"T{i:08d}-{i}",
        language="typescript",
        source="step",
        fields={"lang": "ts", "flows": ["bench"]},
    )


async def _emit_all(logger: Logger, lines: int) -> float:
    t0 = time.process_time()
    for at in range(0, lines, BURST):
        for i in range(at, min(at + BURST, lines)):
            logger.emit(_line(i))
        await asyncio.sleep(0)
    return t0


async def _once(lines: int, folder: Path, sink: TextIO) -> dict[str, float]:
    out: dict[str, float] = {}
    # stdout rendering alone (both sides of the pair pay it)
    logger = Logger("pretty", Level.INFO, stream=sink)
    t0 = await _emit_all(logger, lines)
    await asyncio.sleep(0.3)  # the stdout writer thread drains
    out["stdout_only_us"] = (time.process_time() - t0) / lines * 1e6
    # the same plus recording: LogRecorder buffer, batched writes to .motia/logs.db on a worker thread
    logger = Logger("pretty", Level.INFO, stream=sink)
    recorder = LogRecorder(SqliteLogStorage(folder / "recorded.db", logger), logger)
    logger.sinks.append(recorder)
    recorder.start()
    t0 = await _emit_all(logger, lines)
    await recorder.close(10.0)
    await asyncio.sleep(0.3)
    out["recorded_us"] = (time.process_time() - t0) / lines * 1e6
    if recorder.dropped or recorder.recorded != lines:
        raise RuntimeError(f"the recorder kept {recorder.recorded} of {lines} lines ({recorder.dropped} dropped)")
    # of which the store's part: rows built, INSERTed in one transaction per batch on the worker thread
    storage = SqliteLogStorage(folder / "store.db", logger)
    batch = [_line(i) for i in range(FLUSH_LINES)]
    t0 = time.process_time()
    for _ in range(lines // FLUSH_LINES):
        await storage.append(batch)
    out["store_append_us"] = (time.process_time() - t0) / (lines // FLUSH_LINES * FLUSH_LINES) * 1e6
    return out


async def measure(lines: int, reps: int, folder: Path, sink: TextIO) -> dict[str, Any]:
    """`reps` rounds of the three measurements (each on fresh databases); medians, and every round."""
    runs = []
    for i in range(reps):
        (folder / str(i)).mkdir()
        runs.append(await _once(lines, folder / str(i), sink))
    out: dict[str, Any] = {"lines": lines, "reps": reps, "runs": runs}
    for key in runs[0]:
        out[key] = statistics.median(r[key] for r in runs)
    out["recording_us"] = statistics.median(r["recorded_us"] - r["stdout_only_us"] for r in runs)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=30_000)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="record-cost-") as tmp, open(os.devnull, "w") as sink:
        print(json.dumps(uvloop.run(measure(args.lines, args.reps, Path(tmp), sink))))


if __name__ == "__main__":
    main()
