"""A/B of the core under the event chain (API → TS → Python → JS, SQLite queue): CPU per hop.

    .venv/bin/python bench/benchlib/chain_ab.py OLD_CORE NEW_CORE [--k 16] [--seconds 10] [--rounds 2]

OLD_CORE and NEW_CORE are folders holding a `motia_core` package, each put first on PYTHONPATH of a
`python -m motia_core serve` of the bench project (runners and everything else from this checkout);
`tree` means this checkout's own core/. For a copy of the tree with some modules as they were:

    d=/tmp/ab/old && mkdir -p $d && cp -r core/motia_core $d/ && git show HEAD:core/motia_core/queue/sqlite.py \\
        > $d/motia_core/queue/sqlite.py

(`motia_core.paths` finds the runners next to the package: link the checkout's other top-level
folders beside the copy's `core/`, or copy to `<dir>/core/motia_core` and link `<dir>/runners`.)
Rounds run A B B A (then B A A B ...), one core at a time, core and runners on CPU 0, the driver on
CPU 1. Each run: 3 s of chains (not counted), then `--seconds` measured; per hop (3 event hops a
chain): CPU of the core and of each runner (from /proc over the run), queue.db commits (walcount.py),
the core's context switches. Prints one line per run and the medians per side.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import resources, walcount
from benchlib.procs import Service, free_port, pinned

BENCH = Path(__file__).resolve().parents[1]
CHECKOUT = BENCH.parent
HOPS = 3


def one_run(core_dir: str, k: int, seconds: float, work: Path) -> dict[str, Any]:
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(BENCH / "projects/bench", project)
    sink, port = free_port(), free_port()
    path = str(CHECKOUT / "core") if core_dir == "tree" else core_dir
    core = Service(
        "core",
        [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(port)]
        + ["--host", "127.0.0.1", "--log-level", "warn"],
        log=work / "core.log",
        env={"BENCH_SINK_PORT": str(sink), "PYTHONPATH": path},
        cpus="0",
    )
    core.start()
    try:
        core.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=90)
        pid = core.pid

        def drive(duration: float, warm: float) -> subprocess.Popen[str]:
            argv = [sys.executable, str(BENCH / "benchlib/chainload.py"), "--port", str(port)]
            argv += ["--sink-port", str(sink), "--concurrency", str(k), "--duration", str(duration)]
            argv += ["--warmup", str(warm), "--first-id", str(time.time_ns() // 1000 % 10**12)]
            return subprocess.Popen(pinned("1", argv), stdout=subprocess.PIPE, text=True)

        drive(3, 0.5).communicate()
        queue_db = project / ".motia/queue.db"
        before = walcount.commits(queue_db)
        with resources.Sampler(pid) as sampler:
            run = json.loads(drive(seconds, 1.0).communicate()[0])
        commits = walcount.delta(before, walcount.commits(queue_db))
        res = sampler.result()  # while the core lives: it reads the core's CPU affinity
    finally:
        core.stop()
    hops = max(1, run["reports"]) * HOPS
    by_role = res["by_role"]
    core_role = by_role.get("python") or by_role.get("core") or {}  # `python -m motia_core` is named python
    return {
        "chains_per_s": run["per_s"],
        "p50_ms": run["latency_us"].get("p50", 0) / 1000,
        "lost": run["lost"],
        "core_us_per_hop": core_role.get("cpu_pct", 0.0) / 100 * res["wall_s"] / hops * 1e6,
        "node_us_per_hop": by_role.get("node runner", {}).get("cpu_pct", 0.0) / 100 * res["wall_s"] / hops * 1e6,
        "py_us_per_hop": by_role.get("python runner", {}).get("cpu_pct", 0.0) / 100 * res["wall_s"] / hops * 1e6,
        "commits_per_hop": commits / hops if commits is not None else None,
        "core_ctx_per_hop": core_role.get("ctx_switches", 0) / hops,
        "other_load_cpu0_pct": res["foreign_pct_on_server_cpus"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    order: list[str] = []
    for r in range(args.rounds):
        order += ["a", "b", "b", "a"] if r % 2 == 0 else ["b", "a", "a", "b"]
    runs: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    with tempfile.TemporaryDirectory(prefix="chain-ab-") as tmp:
        for side in order:
            run = one_run(getattr(args, side), args.k, args.seconds, Path(tmp))
            runs[side].append(run)
            print(side.upper(), json.dumps({key: round(v, 2) if v is not None else None for key, v in run.items()}))
    for side in ("a", "b"):
        values = {key: [r[key] for r in runs[side] if r[key] is not None] for key in runs[side][0]}
        rounded = {key: round(statistics.median(v), 2) for key, v in values.items() if v}
        print(f"median {side.upper()} ({getattr(args, side)}):", json.dumps(rounded))


if __name__ == "__main__":
    main()
