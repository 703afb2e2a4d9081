"""motia-core's benchmark suite: `make bench` (full, <= 10 min) or `make bench-quick` (<= 60 s).

    python bench/run.py [--quick] [--no-classic] [--only SCENARIO ...] [--layout split|none] [--out DIR]

Writes bench/results/<timestamp>/{report.md, results.json, *.png, logs/}; a full run (without --only)
also copies report.md to bench/LATEST.md. Prints one progress line per scenario.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import report
from benchlib.procs import install_cleanup, stop_all
from benchlib.suite import BENCH_DIR, Layout, Suite

BUDGET_S = {"full": 1500, "quick": 45}  # start no new scenario after this (a full run with every scenario: ~25 min)
SCENARIOS = ("api", "session", "record", "streams", "redis", "grpc", "cold", "floors", "classic", "dev", "bodies")
SCENARIOS += ("memory", "curves", "soak")  # issue 15 items 6-7: suite_memory.py, suite_scale.py
SCENARIOS += ("floor",)  # issue 15 item 1: the same request with layers taken away (suite_floor.py)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="API TS and Python at c16, bare aiohttp, event chain, streams k4"
    )
    p.add_argument("--no-classic", action="store_true", help="skip classic Motia")
    p.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        metavar="SCENARIO",
        help=f"run only these scenarios ({', '.join(SCENARIOS)}; api = API, open loop, payloads, chains; "
        "session = the API steps with the core in its own session vs the caller's; "
        "record = API steps at c16 with recording on vs --no-record; "
        "redis = the chain on SQLite / Redis x1 / Redis x2 / BullMQ); bench/LATEST.md is left alone",
    )
    p.add_argument(
        "--layout",
        choices=("split", "none"),
        default="split",
        help="split: servers on CPU 0, load generators on CPU 1 (default); none: no pinning",
    )
    p.add_argument("--out", type=Path, help="results folder (bench/results/<timestamp>)")
    p.add_argument(
        "--soak",
        type=float,
        metavar="SECONDS",
        help="also soak one core under mixed load, RSS every 10 s (not by default; --only soak: 600 s)",
    )
    p.add_argument(
        "--curves-full",
        action="store_true",
        help="the scale curves' largest points too (500 steps x3, 1M waiting events, 5,000 clients)",
    )
    args = p.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            print(f"bench: {tool} is not installed (make bench installs it)", file=sys.stderr)
            return 2
    out = args.out or BENCH_DIR / "results" / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    install_cleanup()
    suite = Suite(out, Layout.make(args.layout), quick=args.quick, classic=not args.no_classic)
    mode = "quick" if args.quick else "full"
    shown = out.relative_to(BENCH_DIR.parent) if out.is_relative_to(BENCH_DIR.parent) else out
    print(f"motia-core bench ({mode}) -> {shown}")
    print(f"layout: {suite.layout.describe()}")
    ruby = "yes" if suite.ruby else "no (no runner)"
    print(f"queue: {suite.results['meta']['queue']['description']}; ruby steps: {ruby}")
    started = time.perf_counter()
    scenarios: list[tuple[str, str, Callable[[], None] | None]] = [
        ("api", "api, open loop, payloads, chains", suite.run_main),
    ]
    if not args.quick:  # two fresh cores, own session vs the caller's (suite_session.py)
        scenarios.append(("session", "core in the caller's session", suite.session_modes))
    if not args.quick or (args.only and "record" in args.only):  # quick: only when asked for
        scenarios.append(("record", "recording on vs off", suite.record_pair))
    scenarios.append(("streams", "streams", suite.streams))
    if not args.quick or (args.only and "redis" in args.only):  # quick: only when asked for
        scenarios.append(("redis", "redis chains + BullMQ", suite.redis_chains))
    if not args.quick:
        scenarios += [
            ("grpc", "grpc ping-pong", suite.grpc_pingpong),
            ("cold", "cold start", suite.cold_start),
            ("floors", "import floors", suite.import_floors),
            ("classic", "classic Motia", suite.run_classic if suite.want_classic else None),
        ]
    if not args.quick or (args.only and "bodies" in args.only):  # 1 MB JSON echo, CPU per MB (suite_bodies.py)
        from benchlib import suite_bodies

        scenarios.append(("bodies", "1 MB bodies: CPU per MB", lambda: suite_bodies.run(suite)))
    if not args.quick or (args.only and {"memory", "curves"} & set(args.only)):  # issue 15 items 6-7
        from benchlib import suite_memory, suite_scale

        scenarios.append(("memory", "memory idle and at c64", lambda: suite_memory.memory(suite)))
        scenarios.append(("curves", "scale curves", lambda: suite_scale.run(suite, full=args.curves_full)))
    if not args.quick or (args.only and "floor" in args.only):  # last: the budget may skip it, nothing else
        from benchlib import suite_floor

        scenarios.append(("floor", "the floor: layers taken away", lambda: suite_floor.run(suite)))
    if args.only and "soak" in args.only and not args.soak:
        args.soak = 600.0
    if args.soak:  # only when asked for: --soak SECONDS (suite_memory.py)
        from benchlib import suite_memory

        soak_s = float(args.soak)
        scenarios.append(("soak", f"soak {soak_s:.0f} s", lambda: suite_memory.soak(suite, soak_s)))
    if args.only and "dev" in args.only:  # motia-core dev's save-to-new-code time (bench/dev_reload.py)
        import dev_reload

        edits = 5 if args.quick else 20
        scenarios.append(("dev", "dev reload", lambda: suite.results.__setitem__("dev_reload", dev_reload.run(edits))))
    if args.only:
        scenarios = [s for s in scenarios if s[0] in args.only or s[0] == "soak"]
        suite.results["meta"]["only"] = list(args.only)
    try:
        for _, name, fn in scenarios:
            if fn is None:
                suite.results["failures"].append({"scenario": name, "why": "skipped (--no-classic)"})
                continue
            if time.perf_counter() - started > BUDGET_S[mode] and name != f"soak {args.soak or 0:.0f} s":
                suite.fail(name, f"skipped: the run is past its {BUDGET_S[mode]} s budget")
                continue
            try:
                fn()
            except Exception as exc:  # one broken scenario must not cost the others
                suite.fail(name, f"{type(exc).__name__}: {exc}")
    finally:
        stop_all()
    shutil.rmtree(suite.work, ignore_errors=True)  # project copies and their .motia databases
    suite.results["elapsed_s"] = time.perf_counter() - started
    suite.results["meta"]["loadavg_end"] = os.getloadavg()
    path = report.write(suite.results, out)
    if not args.quick and not args.only:
        (BENCH_DIR / "LATEST.md").write_text(latest(path.read_text(), out))
    print(f"\nreport: {path}")
    for t in suite.results.get("targets", []):
        print(f"  {t['status']:<13} {t['target']}: {t['measured']}")
    print(f"done in {suite.results['elapsed_s']:.0f} s")
    return 0


def latest(text: str, out: Path) -> str:
    """bench/LATEST.md: the report, its charts named in the (git-ignored) results folder."""
    rel = out.relative_to(BENCH_DIR) if out.is_relative_to(BENCH_DIR) else out
    head = f"<!-- written by `make bench` from bench/{rel}/report.md -->\n"
    body, _, charts = text.partition("\n## Charts\n")
    names = [line[line.index("(") + 1 : -1] for line in charts.splitlines() if line.startswith("![")]
    if names:
        body += (
            f"\n## Charts\n\nPNG charts of this run are in `bench/{rel}/` (git-ignored, so not in the "
            "repository): " + ", ".join(f"`{n}`" for n in names) + ".\n"
        )
    return head + body


if __name__ == "__main__":
    sys.exit(main())
