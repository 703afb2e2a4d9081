"""Idle memory of motia-core and of classic Motia on the 10-step project, per process, as the report's
"Resources" table measures it (2 s after the first 200 OK on /ping), repeated and interleaved so that
the two systems (or two builds of the Node runner) see the same machine.

    .venv/bin/python bench/benchlib/memory_idle.py --rounds 3                   # motia-core only
    .venv/bin/python bench/benchlib/memory_idle.py --rounds 2 --classic         # + classic Motia
    .venv/bin/python bench/benchlib/memory_idle.py --rounds 3 \\
        --variant before=MOTIA_NODE_RUNNER=runners/node/dist/before-runner.cjs  # A/B, ABBA order

Prints one line per process (RSS, PSS, USS) and per run the sums and "each page once" (resources.py),
then the median of each over the runs. Classic Motia must be installed (bench/install_classic.sh).
`--breakdown` also splits each run's "each page once" by what holds the pages (memory_pages.py): the
files mapped (the node binary, libpython, grpc's cygrpc .so: code and data that a leaner program could
not avoid loading) and anonymous memory (heaps: what the program itself allocated), per process and for
the tree. `--settle S` snapshots S seconds after the first 200 OK instead of 2 (V8 shrinks the Node
runner's young generation at its next GC while allocation is low, often 10-30 s after the start, not
always: bench/README.md, "Resources"); `--settle auto` once the tree's RSS has fallen and stopped falling
(settled_snapshot, at most 30 s), as the bench's idle snapshots take it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import memory_pages, resources

BENCH_DIR = Path(__file__).resolve().parents[1]
PROJECT = BENCH_DIR / "projects" / "cold"
CLASSIC_DIR = BENCH_DIR / ".motia-classic"
MOTIA_CORE = Path(sys.executable).parent / "motia-core"
SETTLE_S: float | None = 2.0  # --settle; None: settled_snapshot, as SuiteBase.idle_snapshot
BREAKDOWN = False  # --breakdown


# settled_snapshot: sample the tree's RSS every SETTLE_STEP_S from SETTLE_MIN_S after the first 200 OK;
# once it has fallen by SETTLE_DROP_MB and then stayed flat for SETTLE_QUIET_S, snapshot; never later
# than SETTLE_MAX_S (V8 gave its young generation back 10-30 s after the start in the runs of
# bench/README.md "Resources", not always; classic Motia does not move, so it waits the whole bound)
SETTLE_MIN_S = 2.0
SETTLE_MAX_S = 30.0
SETTLE_STEP_S = 1.0
SETTLE_DROP_MB = 1.0
SETTLE_QUIET_S = 3.0


def tree_rss_mb(pid: int) -> float:
    """RSS sum of a process tree (cheap: no smaps), for watching it settle."""
    total = 0
    for p in resources.tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass  # a child that exited between listing and reading
    return total / 2**20


def settle(
    read: Callable[[], float],
    sleep: Callable[[float], None] = time.sleep,
    *,
    min_s: float = SETTLE_MIN_S,
    max_s: float = SETTLE_MAX_S,
    step_s: float = SETTLE_STEP_S,
    drop_mb: float = SETTLE_DROP_MB,
    quiet_s: float = SETTLE_QUIET_S,
) -> dict[str, Any]:
    """Wait (`sleep`) until the RSS that `read` returns has fallen by `drop_mb` and then stayed within
    `drop_mb` of its low for `quiet_s`, or until `max_s`. Returns how long it waited, whether it fell
    and settled, and the RSS at `min_s` and at the end."""
    sleep(min_s)
    waited = min_s
    first = low = read()
    fell_at: float | None = None
    while waited < max_s:
        if fell_at is not None and waited - fell_at >= quiet_s:
            break
        sleep(step_s)
        waited += step_s
        now = read()
        if now < low - drop_mb:
            low, fell_at = now, waited
        elif now < low:
            low = now
    return {
        "waited_s": waited,
        "fell": fell_at is not None,
        "settled": fell_at is not None and waited - fell_at >= quiet_s,
        "max_s": max_s,
        "rss_first_mb": first,
        "rss_last_mb": read(),
    }


def settled_snapshot(pid: int, max_s: float = SETTLE_MAX_S) -> dict[str, Any]:
    """resources.snapshot of a server's tree once its RSS has settled after the first 200 OK (settle());
    the snapshot carries how it settled under "settle"."""
    how = settle(lambda: tree_rss_mb(pid), max_s=max_s)
    snap: dict[str, Any] = resources.snapshot(pid)
    snap["settle"] = how
    return snap


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ok(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                resp.read()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before {url} answered") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def breakdown(label: str, snap: dict[str, Any], top: int = 8) -> None:
    """Each page once, split into files and anonymous memory: per process, then for the whole tree."""
    pids = [p["pid"] for p in snap["processes"]]
    for p in snap["processes"]:
        split = memory_pages.unique_by_mapping_mb([p["pid"]])
        if split is None:
            return  # frame numbers hidden (not root): no split either
        anon = split.get("anonymous", 0.0)
        print(f"{label:12} {p['role']:24} anonymous {anon:6.1f}  files {sum(split.values()) - anon:6.1f}")
    tree_split = memory_pages.unique_by_mapping_mb(pids) or {}
    files = sorted(((mb, name) for name, mb in tree_split.items() if name != "anonymous"), reverse=True)
    shown = ", ".join(f"{name} {mb:.1f}" for mb, name in files[:top])
    print(
        f"{label:12} {'tree, each page once':24} anonymous {tree_split.get('anonymous', 0.0):6.1f}  "
        f"files {sum(mb for mb, _ in files):6.1f} ({shown}, ...)",
        flush=True,
    )


def motia_core_idle(env: dict[str, str], label: str = "motia-core") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "cold"
        shutil.copytree(PROJECT, project)
        port = free_port()
        argv = [str(MOTIA_CORE), "serve", "--dir", str(project), "--port", str(port), "--host", "127.0.0.1"]
        proc = subprocess.Popen(
            [*argv, "--log-level", "warn"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_ok(f"http://127.0.0.1:{port}/ping", proc, 120)
            snap = idle_snapshot(proc.pid)
            if BREAKDOWN:
                breakdown(label, snap)
            return snap
        finally:
            stop(proc)


def classic_idle(i: int) -> dict[str, Any]:
    """As suite_classic.classic_server: `motia start` on a copy of the project inside the install."""
    project = CLASSIC_DIR / "projects" / f"memory-idle-{os.getpid()}-{i}"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(PROJECT, project)
    shutil.copy(BENCH_DIR / "projects" / "motia.config.ts", project / "motia.config.ts")
    (project / "python_modules").symlink_to(CLASSIC_DIR / "python_modules")
    port = free_port()
    env = {
        **os.environ,
        "REDISMS_SYSTEM_BINARY": shutil.which("redis-server") or "/usr/bin/redis-server",
        "MOTIA_ANALYTICS_DISABLED": "true",
        "MOTIA_REDIS_PORT": str(free_port()),
        "LOG_LEVEL": "warn",
    }
    proc = subprocess.Popen(
        [str(CLASSIC_DIR / "node_modules/.bin/motia"), "start", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ok(f"http://127.0.0.1:{port}/ping", proc, 180)
        snap = idle_snapshot(proc.pid)
        if BREAKDOWN:
            breakdown("classic", snap)
        return snap
    finally:
        stop(proc)
        shutil.rmtree(project, ignore_errors=True)


def idle_snapshot(pid: int) -> dict[str, Any]:
    """--settle auto: once the RSS settled (settled_snapshot); --settle S: S seconds after the first 200."""
    if SETTLE_S is None:
        return settled_snapshot(pid)
    time.sleep(SETTLE_S)
    snap: dict[str, Any] = resources.snapshot(pid)
    return snap


def show(label: str, snap: dict[str, Any]) -> None:
    for p in snap["processes"]:
        print(f"{label:12} {p['role']:24} RSS {p['rss_mb']:6.1f}  PSS {p['pss_mb']:6.1f}  USS {p['uss_mb']:6.1f}")
    once = snap["unique_mb"]
    print(
        f"{label:12} {'total':24} RSS {snap['rss_mb']:6.1f}  PSS {snap['pss_mb']:6.1f}  USS {snap['uss_mb']:6.1f}"
        f"  each page once {'–' if once is None else f'{once:6.1f}'}",
        flush=True,
    )


def main() -> int:
    global SETTLE_S, BREAKDOWN
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--classic", action="store_true", help="measure classic Motia too (one run per round)")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=VAR=VALUE[,VAR=VALUE]",
        help="a second motia-core run with these env variables, interleaved ABBA with the plain one",
    )
    ap.add_argument("--breakdown", action="store_true", help="split each page once into files and anonymous memory")
    ap.add_argument(
        "--settle",
        default="2",
        help="seconds from the first 200 OK to the snapshot, or `auto`: once the tree's RSS has fallen and stopped "
        f"falling, at most {SETTLE_MAX_S:g} s (as the bench's idle snapshots)",
    )
    args = ap.parse_args()
    SETTLE_S, BREAKDOWN = (None if args.settle == "auto" else float(args.settle)), args.breakdown
    variants: dict[str, dict[str, str]] = {"motia-core": {}}
    for spec in args.variant:
        name, _, assigns = spec.partition("=")
        variants[name] = dict(a.split("=", 1) for a in assigns.split(",") if a)
    names = list(variants)
    # values[label][(role or "total", column)] -> one value per run
    values: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))

    def record(label: str, snap: dict[str, Any]) -> None:
        show(label, snap)
        for p in snap["processes"]:
            for col in ("rss_mb", "pss_mb", "uss_mb"):
                values[label][(p["role"], col)].append(p[col])
        for col in ("rss_mb", "pss_mb", "uss_mb", "unique_mb"):
            if snap[col] is not None:
                values[label][("total", col)].append(snap[col])

    for r in range(args.rounds):
        order = names + names[::-1] if len(names) > 1 else names
        for name in order if r % 2 == 0 else order[::-1]:
            record(name, motia_core_idle(variants[name], name))
        if args.classic:
            record("classic", classic_idle(r))
    print("\nmedian over the runs (MB):")
    for label, cols in values.items():
        for (role, col), xs in sorted(cols.items(), key=lambda kv: (kv[0][0] == "total", kv[0])):
            print(f"{label:12} {role:24} {col:10} {statistics.median(xs):7.1f}  (n={len(xs)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
