"""CPU time one recorded log line costs, measured in one process (no server, no load generator):
the same lines through the core's Logger with and without its LogRecorder sink on a SQLite log
store, CPU of every thread (time.process_time) per line. CPU time, unlike throughput, is barely
moved by what else runs on the machine, so it checks the recording pair's noisy ratios.

The store is measured where a serving core spends its life: already holding as many lines as its
retention keeps (`--kept`, the default bound), so every write also prunes, and with trace ids in
Motia's format (random letters, then the time). An empty store with made-up ids hides what a full
index costs (the trace id index once cost ~15 µs a line there, on an empty store nearly nothing).
Lines are emitted at `--rate` lines a second in bursts of 16 (c16's requests in flight), not as
fast as the loop can: a real core's recorder flushes batches of that rate's size.

    python bench/benchlib/record_cost.py [--lines 20000] [--reps 3] [--kept 100000] [--rate 10000] [--work 0]

`--work N` gives each line N µs of CPU-bound Python work on the event loop's thread (a request's
share of a serving core, ~250-350 µs at c16), so the writer thread's batches land while the loop is
busy, as in a server: whether the GIL and the thread switches make a line dearer than on an idle
loop (both sides do the same work: the difference is still recording's).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import uvloop

from motia_core.logs import Level, Logger, LogRecord
from motia_core.logstore import FLUSH_LINES, LogRecorder, LogRetention, SqliteLogStorage
from motia_core.tracing import new_trace_id

BURST = 16  # lines emitted between two turns of the event loop: c16's requests in flight


def _line(step: str = "LogTs") -> LogRecord:
    # what a handler's `logger.info('bench request handled', {lang})` becomes in the core (calls.py log)
    return LogRecord(
        level=Level.INFO,
        message="bench request handled",
        step=step,
        trace_id=new_trace_id(),
        language="typescript",
        source="step",
        fields={"lang": "ts", "flows": ["bench"]},
    )


async def _emit_all(logger: Logger, lines: int, rate: float, work_us: float = 0.0) -> float:
    records = [_line() for _ in range(lines)]  # made before the clock starts: they are not recording's cost
    t0 = time.process_time()
    for at in range(0, lines, BURST):
        for record in records[at : at + BURST]:
            if work_us:
                _busy(work_us)
            logger.emit(record)
        await asyncio.sleep(max(0.0, BURST / rate - BURST * work_us / 1e6))
    return t0


def _busy(us: float) -> None:
    """`us` µs of this thread's CPU in Python bytecode (thread_time: preemption does not shorten it)."""
    end = time.thread_time() + us / 1e6
    junk: dict[int, int] = {}
    while time.thread_time() < end:
        for i in range(50):
            junk[i] = i


def prefill(path: Path, lines: int = LogRetention().max_lines, step: str = "Prefill") -> None:
    """Fill the log store at `path` (a project's .motia/logs.db) with `lines` lines of `step`: the
    store a core that has served for a while holds, which is what each new line is written into."""

    async def fill() -> None:
        logger = Logger("pretty", Level.WARN, stream=io.StringIO())
        storage = SqliteLogStorage(path, logger, LogRetention(max_lines=lines))
        for at in range(0, lines, 5000):
            await storage.append([_line(step) for _ in range(min(5000, lines - at))])
        await storage.close()

    asyncio.run(fill())


async def _filled(path: Path, logger: Logger, kept: int) -> SqliteLogStorage:
    """A store already at its retention bound (`kept` lines): a copy of one filled once per process."""
    template = path.parent.parent / f"filled-{kept}.db"
    if not template.exists():
        storage = SqliteLogStorage(template, logger, LogRetention(max_lines=kept))
        for at in range(0, kept, 5000):
            await storage.append([_line() for _ in range(min(5000, kept - at))])
        await storage.close()  # the last connection closed: the WAL is merged into the file
    shutil.copyfile(template, path)
    return SqliteLogStorage(path, logger, LogRetention(max_lines=kept))


async def _once(lines: int, kept: int, rate: float, folder: Path, sink: TextIO, work: float) -> dict[str, float]:
    out: dict[str, float] = {}
    # stdout rendering alone (both sides of the pair pay it)
    logger = Logger("pretty", Level.INFO, stream=sink)
    t0 = await _emit_all(logger, lines, rate, work)
    await asyncio.sleep(0.3)  # the stdout writer thread drains
    out["stdout_only_us"] = (time.process_time() - t0) / lines * 1e6
    # the same plus recording: LogRecorder buffer, batched writes to a full .motia/logs.db
    logger = Logger("pretty", Level.INFO, stream=sink)
    recorder = LogRecorder(await _filled(folder / "recorded.db", logger, kept), logger)
    logger.sinks.append(recorder)
    recorder.start()
    t0 = await _emit_all(logger, lines, rate, work)
    await recorder.close(10.0)
    await asyncio.sleep(0.3)
    out["recorded_us"] = (time.process_time() - t0) / lines * 1e6
    if recorder.dropped or recorder.recorded != lines:
        raise RuntimeError(f"the recorder kept {recorder.recorded} of {lines} lines ({recorder.dropped} dropped)")
    # of which the store's part: one append of FLUSH_LINES lines after another, full store and empty one
    for key, storage in (
        ("store_append_us", await _filled(folder / "full.db", logger, kept)),
        ("store_append_empty_us", SqliteLogStorage(folder / "empty.db", logger, LogRetention(max_lines=kept))),
    ):
        batches = [[_line() for _ in range(FLUSH_LINES)] for _ in range(max(1, lines // FLUSH_LINES))]
        t0 = time.process_time()
        for batch in batches:
            await storage.append(batch)
        out[key] = (time.process_time() - t0) / (len(batches) * FLUSH_LINES) * 1e6
        await storage.close()
    return out


async def measure(
    lines: int, reps: int, kept: int, rate: float, folder: Path, sink: TextIO, work: float = 0.0
) -> dict[str, Any]:
    """`reps` rounds of the measurements (each on fresh databases); medians, and every round."""
    runs = []
    for i in range(reps):
        (folder / str(i)).mkdir()
        runs.append(await _once(lines, kept, rate, folder / str(i), sink, work))
    out: dict[str, Any] = {"lines": lines, "reps": reps, "kept": kept, "rate": rate, "work_us": work, "runs": runs}
    for key in runs[0]:
        out[key] = statistics.median(r[key] for r in runs)
    out["recording_us"] = statistics.median(r["recorded_us"] - r["stdout_only_us"] for r in runs)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=20_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--kept", type=int, default=LogRetention().max_lines, help="lines the store holds already")
    p.add_argument("--rate", type=float, default=10_000.0, help="lines emitted per second")
    p.add_argument("--work", type=float, default=0.0, help="µs of Python work on the loop per line")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="record-cost-") as tmp, open(os.devnull, "w") as sink:
        print(json.dumps(uvloop.run(measure(args.lines, args.reps, args.kept, args.rate, Path(tmp), sink, args.work))))


if __name__ == "__main__":
    main()
