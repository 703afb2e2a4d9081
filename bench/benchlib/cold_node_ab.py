"""A/B two builds of the Node runner inside the whole cold start, interleaved (A B B A ...): each start is
`cold_ab.one_start` (`serve` on a fresh copy of bench/projects/cold to the first 200 OK, /proc CPU of
the core and each runner) with MOTIA_NODE_RUNNER set to that build's runner.cjs, plus the core's own
`runners spawning` -> `node runner ready` interval from its debug log.

    python bench/benchlib/cold_node_ab.py RUNNER_A.cjs,RUNNER_B.cjs ROUNDS [--cpus 0,1]

A build is a copy of runners/node/dist under a folder whose runners/node/node_modules and proto/ resolve
(symlinks to the checkout's will do). Used for docs/performance.md (cold start, the Node runner).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cold_ab

REPO = Path(__file__).resolve().parents[2]


def _at(log: str, text: str) -> datetime.datetime:
    found = re.search(r"^(\d\d:\d\d:\d\d\.\d+) .*" + re.escape(text), log, re.M)
    if not found:
        raise SystemExit(f"no '{text}' line in the core's log:\n{log[-2000:]}")
    return datetime.datetime.strptime(found.group(1), "%H:%M:%S.%f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runners", help="comma-separated runner.cjs paths")
    parser.add_argument("rounds", type=int, help="starts per build")
    parser.add_argument("--cpus", default="0,1", help="taskset CPU list of the core and its runners (0,1)")
    args = parser.parse_args()
    runners = [str(Path(r).resolve()) for r in args.runners.split(",")]
    results: dict[str, list[dict[str, float]]] = {r: [] for r in runners}
    order = itertools.islice(itertools.cycle(runners + runners[::-1]), args.rounds * len(runners))
    with tempfile.TemporaryDirectory() as tmp:
        for runner in order:
            os.environ["MOTIA_NODE_RUNNER"] = runner
            r = cold_ab.one_start(REPO, Path(tmp), args.cpus)
            log = (Path(tmp) / "serve.log").read_text()
            r["node_ready"] = (_at(log, "node runner ready") - _at(log, "runners spawning")).total_seconds() * 1000
            results[runner].append(r)
    for runner, runs in results.items():
        keys = sorted({k for r in runs for k in r})
        medians = ", ".join(f"{k} {statistics.median(r.get(k, 0.0) for r in runs):,.0f} ms" for k in keys)
        print(f"median of {len(runs)}, {runner}: {medians}")


if __name__ == "__main__":
    main()
