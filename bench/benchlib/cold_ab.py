"""A/B the cold start of two copies of the core, interleaved (A B B A ...): `serve` on a fresh copy of
bench/projects/cold to the first 200 OK on /ping, then the CPU time (/proc utime+stime) of the core
and of each runner process at that moment. CPU per start is the figure to compare on a shared
machine; the wall time is printed too, and when each milestone of the debug log came, in ms after the
spawn of `serve` (`at_spawn`: `runners spawning`, `at_node`/`at_python`: that runner's `ready`,
`at_imports`: `core imports done`): which leg of the start is the longer one.

    python bench/benchlib/cold_ab.py TREE_A,TREE_B ROUNDS [--cpus 0,1]

A tree is a folder holding core/motia_core and sdk-python/motia (e.g. a copy with some files at an
older commit) plus runners/ and sdk-node/ (symlinks to the checkout's will do); each start runs
`python -m motia_core serve` with PYTHONPATH pointing at it. Used for docs/performance.md (cold start).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "bench/projects/cold"
TICK = os.sysconf("SC_CLK_TCK")
MILESTONES = {
    "runners spawning": "at_spawn",
    "node runner ready": "at_node",
    "python runner ready": "at_python",
    "core imports done": "at_imports",
}
LOG_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d{3}) ")


def _milestones(log: Path, started_at: float) -> dict[str, float]:
    """ms after `started_at` (epoch seconds) of each milestone's first line in a pretty debug log."""
    out: dict[str, float] = {}
    day = datetime.datetime.fromtimestamp(started_at).replace(hour=0, minute=0, second=0, microsecond=0)
    for line in log.read_text(errors="replace").splitlines():
        m = LOG_TIME.match(line)
        name = next((v for k, v in MILESTONES.items() if k in line), None)
        if m is None or name is None or name in out:
            continue
        at = day.timestamp() + int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        out[name] = (at - started_at) * 1000
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> tuple[int, str, float]:
    text = Path(f"/proc/{pid}/stat").read_text()
    close = text.rindex(")")
    fields = text[close + 2 :].split()
    return int(fields[1]), text[text.index("(") + 1 : close], (int(fields[11]) + int(fields[12])) / TICK


def _descendants(root: int) -> list[tuple[str, float]]:
    children: dict[int, list[tuple[int, str, float]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid, comm, cpu = _stat(int(entry))
            except OSError:
                continue
            children.setdefault(ppid, []).append((int(entry), comm, cpu))
    out, todo = [], [root]
    while todo:
        for pid, comm, cpu in children.get(todo.pop(), []):
            out.append((comm, cpu))
            todo.append(pid)
    return out


def one_start(tree: Path, work: Path, cpus: str) -> dict[str, float]:
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".motia", "node_modules"))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{tree}/core:{tree}/sdk-python"}
    argv = ["taskset", "-c", cpus, sys.executable, "-m", "motia_core", "serve", "--dir", str(project)]
    argv += ["--port", str(port), "--host", "127.0.0.1", "--log-level", "debug"]
    with open(work / "serve.log", "w") as log:
        started, started_at = time.perf_counter(), time.time()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tree / "core")
        try:
            while time.perf_counter() - started < 60:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    time.sleep(0.005)
            wall = time.perf_counter() - started
            if wall >= 60:  # no 200 OK: keep the log to see why
                kept = Path(tempfile.gettempdir()) / f"cold_ab-no-200-{int(started_at)}.log"
                log.flush()
                shutil.copy(work / "serve.log", kept)
                print(f"no 200 OK within 60 s; the log is in {kept}", file=sys.stderr, flush=True)
            out = {"wall": wall * 1000, "core": _stat(proc.pid)[2] * 1000}
            for comm, cpu in _descendants(proc.pid):
                out[comm] = out.get(comm, 0.0) + cpu * 1000
            out["total"] = sum(v for k, v in out.items() if k != "wall")
            log.flush()
            return out | _milestones(work / "serve.log", started_at)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", help="comma-separated tree folders")
    parser.add_argument("rounds", type=int, help="starts per tree")
    parser.add_argument("--cpus", default="0,1", help="taskset CPU list of the core and its runners (0,1)")
    args = parser.parse_args()
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    results: dict[Path, list[dict[str, float]]] = {t: [] for t in trees}
    order = itertools.islice(itertools.cycle(trees + trees[::-1]), args.rounds * len(trees))
    with tempfile.TemporaryDirectory() as tmp:
        for tree in order:
            r = one_start(tree, Path(tmp), args.cpus)
            results[tree].append(r)
            print(tree.name, " ".join(f"{k} {v:,.0f}" for k, v in r.items()), flush=True)
    for tree, runs in results.items():
        keys = sorted({k for r in runs for k in r})
        medians = ", ".join(f"{k} {statistics.median(r.get(k, 0.0) for r in runs):,.0f} ms" for k in keys)
        print(f"median of {len(runs)}, {tree}: {medians}")


if __name__ == "__main__":
    main()
