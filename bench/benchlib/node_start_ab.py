"""A/B the Node runner's own start, interleaved (A B B A ...): `node DIST/runner.cjs` with a core address
nobody listens on and stdin closed, so it starts (modules, proto, project loader), tries to connect,
sees stdin closed and exits. Per start: CPU (user+sys from wait4's rusage) of the whole process and
the runner's own "connecting ... after X ms" debug figure (main() entry to connect; no module compile).

    python bench/benchlib/node_start_ab.py DIST_A,DIST_B ROUNDS [--cpu 1]

A DIST is a folder holding runner.cjs whose ../node_modules and ../../../proto resolve (a copy of
runners/node/dist under a tree with symlinks to the checkout's node_modules and proto will do).
Used for docs/performance.md (cold start, the Node runner's part).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

CONNECTING = re.compile(r"connecting to \S+ after ([0-9.]+) ms")


def one_start(dist: Path, project: Path, cpu: str) -> dict[str, float]:
    env = {
        **os.environ,
        "MOTIA_CORE_ADDRESS": f"unix:{project}/nobody.sock",
        "MOTIA_PROJECT_DIR": str(project),
        "MOTIA_RUNNER_DEBUG": "1",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["taskset", "-c", cpu, "node", str(dist / "runner.cjs")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = (time.perf_counter() - started) * 1000
    found = CONNECTING.search(err)
    if not found:
        raise SystemExit(f"{dist}: no 'connecting' debug line:\n{err}")
    return {"cpu": (usage.ru_utime + usage.ru_stime) * 1000, "wall": wall, "to_connect": float(found.group(1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dists", help="comma-separated dist folders")
    parser.add_argument("rounds", type=int, help="starts per dist")
    parser.add_argument("--cpu", default="1", help="taskset CPU list (1)")
    args = parser.parse_args()
    dists = [Path(d).resolve() for d in args.dists.split(",")]
    results: dict[Path, list[dict[str, float]]] = {d: [] for d in dists}
    order = itertools.islice(itertools.cycle(dists + dists[::-1]), args.rounds * len(dists))
    with tempfile.TemporaryDirectory() as project:
        for dist in order:
            results[dist].append(one_start(dist, Path(project), args.cpu))
    for dist, runs in results.items():
        medians = ", ".join(
            f"{k} {statistics.median(r[k] for r in runs):.0f} ms" for k in ("cpu", "wall", "to_connect")
        )
        print(f"median of {len(runs)}, {dist}: {medians}")


if __name__ == "__main__":
    main()
