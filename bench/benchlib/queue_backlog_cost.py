"""CPU and wall time per event of the SQLite queue alone (enqueue, lease, ack; 16 in flight), with N
events already waiting on another subscription: what the backlog curve's core pays in its queue.

    .venv/bin/python bench/benchlib/queue_backlog_cost.py [--events 4000] [--dir DIR] 0 100000 1000000

Each backlog is written once into DIR/q<N>/queue.db (kept, so a second run skips the fill) through
SqliteQueue.enqueue_many; each line prints three runs of (µs CPU, µs wall) per event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.suite_scale_load import fill_backlog

from motia_core.queue.base import Delivery, Fate, QueuedEvent
from motia_core.queue.sqlite import SqliteQueue

DATA = b'{"id":"x","payload":"' + b"x" * 200 + b'"}'


async def cycle(db: Path, n: int) -> tuple[float, float]:
    queue = SqliteQueue(db)
    done = 0
    finished = asyncio.Event()

    async def ack(event: QueuedEvent) -> Delivery:
        nonlocal done
        done += 1
        if done == n:
            finished.set()
        return Delivery(Fate.ACK)

    queue.subscribe("hot::s", ack, concurrency=16)
    await queue.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(n):
        await queue.enqueue("hot::s", QueuedEvent("hot", DATA, trace_id="t"))
        if i % 16 == 15:
            await asyncio.sleep(0)  # let the pump lease and the consumers ack, as a serving core does
    await finished.wait()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await queue.close()
    return cpu / n * 1e6, wall / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("backlogs", nargs="+", type=int)
    p.add_argument("--events", type=int, default=4000)
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "motia-queue-backlog-cost")
    args = p.parse_args()
    for n in args.backlogs:
        db = args.dir / f"q{n}" / "queue.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        if n and not db.exists():
            fill_backlog(db, n)
        runs = [asyncio.run(cycle(db, args.events)) for _ in range(3)]
        print(f"{n:>9,} waiting: " + ", ".join(f"{c:.0f} µs CPU / {w:.0f} µs wall" for c, w in runs), flush=True)


if __name__ == "__main__":
    main()
