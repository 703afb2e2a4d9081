"""CPU per request of the core and of each runner for the API no-op, Ruby against TypeScript.

    .venv/bin/python runners/ruby/scripts/api_cpu.py [--rounds 4] [--seconds 5] [--langs ts rb]

One `motia-core serve` on the bench project (bench/projects/bench + bench-ruby), pinned with its
runners to CPU 0, wrk -c16 pinned to CPU 1 (bench/benchlib's layout). Rounds are interleaved ABBA
(ts rb rb ts, rb ts ts rb, ...) so a drift of the shared machine weighs on both sides. CPU is
utime+stime from /proc/<pid>/stat of the core and of every runner process, over all requests of
the runs of one language; the runner that served a language is the one whose CPU moved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
from benchlib.loadgen import wrk  # noqa: E402
from benchlib.procs import Service  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def kind(proc: psutil.Process) -> str:
    cmd = " ".join(proc.cmdline())
    if "ruby" in cmd:
        return "rb"
    if "node" in cmd:
        return "node"
    if "python" in cmd or "motia_runner" in cmd:
        return "py"
    return proc.name()


def snapshot(core: Service) -> dict[str, float]:
    out = {"core": cpu_seconds(core.pid)}
    for child in core.descendants():
        try:
            k = kind(child)
        except psutil.Error:
            continue
        out[k] = out.get(k, 0.0) + cpu_seconds(child.pid)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--langs", nargs="+", default=["ts", "rb"])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rb-api-cpu-"))
    project = work / "project"
    shutil.copytree(ROOT / "bench/projects/bench", project)
    shutil.copytree(ROOT / "bench/projects/bench-ruby", project, dirs_exist_ok=True)
    port = 18000 + os.getpid() % 2000
    core = Service(
        "core",
        [str(ROOT / ".venv/bin/motia-core"), "serve", "--dir", str(project), "--port", str(port),
         "--host", "127.0.0.1", "--log-level", "warn"],
        log=work / "core.log", cpus="0",
    )
    core.start()
    try:
        for lang in args.langs:
            core.wait_http(f"http://127.0.0.1:{port}/noop/{lang}", timeout=90)
        for lang in args.langs:  # warm-up (node's JIT, ruby's caches)
            wrk(f"http://127.0.0.1:{port}/noop/{lang}", connections=16, duration=3, cpus="1")
        totals: dict[str, dict[str, float]] = {lang: {"requests": 0.0} for lang in args.langs}
        ratios: list[float] = []
        a, b = args.langs[0], args.langs[-1]
        for r in range(args.rounds):
            order = [a, b, b, a] if r % 2 == 0 else [b, a, a, b]
            rps: dict[str, list[float]] = {a: [], b: []}
            for lang in order:
                before = snapshot(core)
                run = wrk(f"http://127.0.0.1:{port}/noop/{lang}", connections=16, duration=args.seconds, cpus="1")
                after = snapshot(core)
                t = totals[lang]
                t["requests"] += run["requests"]
                for key, value in after.items():
                    t[key] = t.get(key, 0.0) + value - before.get(key, 0.0)
                rps[lang].append(run["rps"])
                print(f"round {r + 1} {lang}: {run['rps']:,.0f} req/s errors {run['errors']}", flush=True)
            ratios.append(statistics.mean(rps[b]) / statistics.mean(rps[a]))
        for lang, t in totals.items():
            n = t.pop("requests")
            parts = "  ".join(f"{k} {v / n * 1e6:.0f} us" for k, v in sorted(t.items()) if v > 0)
            total = sum(t.values()) / n * 1e6
            print(f"{lang}: {n:,.0f} requests; CPU per request: {parts}; total {total:.0f} us")
        print(f"{b}/{a} req/s per round: {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}")
    finally:
        core.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
