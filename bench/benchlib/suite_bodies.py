"""Bodies as bytes (issue 15 item 3): a 1 MB JSON echo through a TypeScript and a Python step
against a bare aiohttp echo, with the CPU each process spent per request and per MB.

CPU is read from the processes' own counters (psutil: utime + stime, as /proc/<pid>/stat), before
and after a fixed-length wrk run at c16: unlike req/s it does not move with what else the machine
runs, so it is the figure to compare across runs. "per MB" divides by the megabytes of request
body the run carried (each request also carries 1 MB back).

In `make bench`: `bench/run.py --only bodies` (or part of the full run). Standalone, to compare two
builds of the core on the same machine (the one installed in .venv, or another checkout through
PYTHONPATH):

    .venv/bin/python bench/benchlib/suite_bodies.py [--seconds 10] [--pythonpath OTHER/core]

A/B of two trees, interleaved A B B A per round (each run a fresh core from that tree's core/, which
also brings that tree's runners/node/dist and runners/python), the figure to compare being CPU per
request by process; `--body struct` sends 1 MB of small records instead of one long string:

    .venv/bin/python bench/benchlib/suite_bodies.py --ab TREE_A TREE_B --rounds 3 --only py ts [--body struct]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

if __name__ == "__main__":  # standalone: make `benchlib` importable as in bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.loadgen import wrk
from benchlib.procs import Service, free_port, stop_all
from benchlib.resources import role_of

BENCH_DIR = Path(__file__).resolve().parents[1]
BODY_BYTES = 1_000_000
C = 16
TARGETS = {"bare": "/echo/bare", "ts": "/echo/ts", "py": "/echo/py"}


def body_file(directory: Path, kind: str = "string") -> Path:
    """The 1 MB JSON body the payload scenario also sends (one long string), or with kind "struct"
    about 1 MB of small records with numbers (what a parser has to build objects for)."""
    path = directory / f"body-1mb-{kind}.json"
    if kind == "struct":
        records = [{"id": i * 7919, "score": i / 64, "tags": [i % 100, i % 7], "ok": True} for i in range(16_900)]
        path.write_bytes(json.dumps({"records": records}, separators=(",", ":")).encode())
    else:
        path.write_bytes(b'{"data":"' + b"x" * (BODY_BYTES - 11) + b'"}')
    return path


def ab(trees: dict[str, str], langs: list[str], rounds: int, seconds: float, body_kind: str, c: int) -> None:
    """Interleaved A/B (A B B A, then B A A B, ...): mean CPU ms per request by process per tree."""
    work = Path(tempfile.mkdtemp(prefix="bench-bodies-ab-"))
    body = body_file(work, body_kind)
    order = [v for r in range(rounds) for v in (("A", "B", "B", "A") if r % 2 == 0 else ("B", "A", "A", "B"))]
    per_request: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        for i, variant in enumerate(order):
            tree = Path(trees[variant]).resolve()
            project = work / f"project-{i}"
            shutil.copytree(tree / "bench" / "projects" / "bench", project)
            port = free_port()
            core = Service(
                "motia-core",
                [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(port)]
                + ["--log-level", "warn"],
                log=work / f"core-{i}.log",
                env={"PYTHONPATH": str(tree / "core"), "BENCH_SINK_PORT": str(free_port())},
                cpus="0",
            )
            core.start()
            try:
                core.wait_http(f"http://127.0.0.1:{port}/noop/ts", timeout=90)
                for lang in langs:
                    m = measure(f"http://127.0.0.1:{port}{TARGETS[lang]}", core.pid, "core", body, seconds, "1", c)
                    cpu = {role: ms for role, ms in m["cpu_ms_per_request"].items() if ms >= 0.05}
                    per_request.setdefault((variant, lang), []).append(cpu)
                    shown = ", ".join(f"{role} {ms:.2f}" for role, ms in sorted(cpu.items()))
                    print(f"{variant} {lang:<3} {m['requests']:>5} requests  CPU ms per request: {shown}", flush=True)
            finally:
                core.stop()
        for lang in langs:
            for variant in ("A", "B"):
                runs = per_request.get((variant, lang), [])
                roles = sorted({role for run in runs for role in run})
                means = ", ".join(f"{role} {sum(run.get(role, 0.0) for run in runs) / len(runs):.2f}" for role in roles)
                print(f"mean {lang} {variant} ({trees[variant]}): {means}", flush=True)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


def cpu_by_role(root_pid: int, root_role: str) -> dict[str, float]:
    """CPU seconds (user + system) of the process tree, summed by role (the root as `root_role`,
    then node runner, python runner, ...)."""
    out: dict[str, float] = {}
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return out
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            role = root_role if proc.pid == root_pid else role_of(proc)
            out[role] = out.get(role, 0.0) + times.user + times.system
    return out


def measure(url: str, pid: int, role: str, body: Path, seconds: float, cpus: str | None, c: int = C) -> dict[str, Any]:
    """One warm-up second, then `seconds` of wrk at `c` connections; req/s and CPU per request / per MB."""
    wrk(url, connections=c, duration=1, cpus=cpus, method="POST", body_file=body, timeout=20)
    before = cpu_by_role(pid, role)
    run = wrk(url, connections=c, duration=seconds, cpus=cpus, method="POST", body_file=body, timeout=20)
    after = cpu_by_role(pid, role)
    requests = max(int(run.get("requests", 0)), 1)
    mb = requests * BODY_BYTES / 1e6
    cpu = {role: after[role] - before.get(role, 0.0) for role in after}
    return {
        "rps": run["rps"],
        "requests": run.get("requests", 0),
        "errors": run.get("errors", 0),
        "p50_ms": run["latency_us"]["p50"] / 1000,
        "cpu_s": cpu,
        "cpu_ms_per_request": {role: s * 1000 / requests for role, s in cpu.items()},
        "cpu_ms_per_mb": {role: s * 1000 / mb for role, s in cpu.items()},
    }


# What a runner cannot avoid per request, whatever the transport: turn the 1 MB of JSON into the
# language's value and back into 1 MB of JSON (Node: bytes -> string -> JSON.parse -> JSON.stringify ->
# bytes; Python: orjson.loads and orjson.dumps, with the rawBody string the step also gets). Timed in
# the process's own CPU clock over many rounds, pinned to the CPU the core and its runners use.
_NODE_FLOOR = """
const raw = require('fs').readFileSync(process.argv[1]); let sink
const once = () => { sink = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8') }
for (let i = 0; i < 50; i++) once()
const c0 = process.cpuUsage(); for (let i = 0; i < 300; i++) once(); const c = process.cpuUsage(c0)
console.log((c.user + c.system) / 1000 / 300)
"""
_PYTHON_FLOOR = """
import sys, time, orjson
raw = open(sys.argv[1], 'rb').read()
def once(): raw.decode('utf-8'); orjson.dumps(orjson.loads(raw))
for _ in range(50): once()
t0 = time.process_time()
for _ in range(300): once()
print((time.process_time() - t0) * 1000 / 300)
"""


def floors(body: Path, cpus: str | None) -> dict[str, float]:
    """CPU ms per request each runner language needs at least (parse + encode of the body)."""
    pin = ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []
    out: dict[str, float] = {}
    for name, argv in (
        ("node", ["node", "-e", _NODE_FLOOR, str(body)]),
        ("python", [sys.executable, "-c", _PYTHON_FLOOR, str(body)]),
    ):
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
            done = subprocess.run([*pin, *argv], capture_output=True, text=True, timeout=120, check=True)
            out[name] = float(done.stdout.strip())
    return out


def line(name: str, m: dict[str, Any], bare_rps: float | None) -> str:
    share = f"  {m['rps'] / bare_rps:.0%} of bare" if bare_rps else ""
    per_mb = ", ".join(f"{role} {ms:.2f}" for role, ms in sorted(m["cpu_ms_per_mb"].items()))
    return f"{name:<5} {m['rps']:>7,.1f} req/s  p50 {m['p50_ms']:.1f} ms{share}  CPU ms per MB: {per_mb}"


def run(suite: Any) -> None:
    """The scenario inside bench/run.py (`suite` is benchlib.suite.Suite)."""
    project = suite.copy_project("bench", suite.work / "bodies-project")
    core, core_port = suite.motia_core(project, "motia-core-bodies", suite.layout.sut)
    bare, bare_port = suite.bare()
    core.start()
    bare.start()
    out: dict[str, Any] = {"body_bytes": BODY_BYTES, "c": C, "runs": {}}
    suite.results["bodies"] = out
    try:
        core.wait_http(f"http://127.0.0.1:{core_port}/noop/ts", timeout=60)
        bare.wait_http(f"http://127.0.0.1:{bare_port}/noop/bare", timeout=30)
        body = body_file(suite.work)
        seconds = 3 if suite.quick else 8
        for name, path in TARGETS.items():
            svc, port = (bare, bare_port) if name == "bare" else (core, core_port)
            role = "bare aiohttp" if name == "bare" else "core"
            m = measure(f"http://127.0.0.1:{port}{path}", svc.pid, role, body, seconds, suite.layout.load)
            out["runs"][name] = m
            bare_rps = out["runs"].get("bare", {}).get("rps") if name != "bare" else None
            suite.progress(f"bodies 1 MB JSON echo {name} c16", line(name, m, bare_rps))
        out["floor_ms_per_request"] = floors(body, suite.layout.sut)
        suite.progress("bodies floor", f"{out['floor_ms_per_request']} CPU ms per 1 MB request")
    finally:
        core.stop()
        bare.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pythonpath", help="PYTHONPATH for the core (another checkout's core/)")
    parser.add_argument("--only", nargs="+", choices=tuple(TARGETS), default=list(TARGETS))
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("-c", "--connections", type=int, default=C, help="wrk connections (default 16)")
    parser.add_argument("--ab", nargs=2, metavar=("TREE_A", "TREE_B"), help="interleaved A/B of two checkouts")
    parser.add_argument("--rounds", type=int, default=3, help="--ab: rounds of A B B A (default 3)")
    parser.add_argument("--body", choices=("string", "struct"), default="string", help="the 1 MB JSON body")
    args = parser.parse_args()
    if args.ab:
        langs = [name for name in args.only if name != "bare"]
        ab(dict(zip("AB", args.ab, strict=True)), langs, args.rounds, args.seconds, args.body, args.connections)
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-bodies-"))
    project = work / "bench"
    shutil.copytree(BENCH_DIR / "projects" / "bench", project)
    env = {"PYTHONPATH": args.pythonpath} if args.pythonpath else {}
    core_port, bare_port = free_port(), free_port()
    python = sys.executable
    core = Service(
        "motia-core",
        [python, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(core_port), "--log-level", "warn"],
        log=work / "core.log",
        env={**env, "BENCH_SINK_PORT": str(free_port())},
        cpus="0",
    )
    bare = Service(
        "bare",
        [python, str(BENCH_DIR / "benchlib/bare_server.py"), "--port", str(bare_port)],
        log=work / "bare.log",
        cpus="0",
    )
    results: dict[str, Any] = {}
    try:
        core.start()
        bare.start()
        core.wait_http(f"http://127.0.0.1:{core_port}/noop/ts", timeout=60)
        bare.wait_http(f"http://127.0.0.1:{bare_port}/noop/bare", timeout=30)
        time.sleep(1)
        body = body_file(work)
        for name in args.only:
            svc, port = (bare, bare_port) if name == "bare" else (core, core_port)
            role = "bare aiohttp" if name == "bare" else "core"
            url = f"http://127.0.0.1:{port}{TARGETS[name]}"
            m = measure(url, svc.pid, role, body, args.seconds, "1", args.connections)
            results[name] = m
            print(line(name, m, results.get("bare", {}).get("rps") if name != "bare" else None), flush=True)
        results["floor_ms_per_request"] = floors(body, "0")
        print(f"floor: {results['floor_ms_per_request']} CPU ms per 1 MB request (parse + encode)", flush=True)
    finally:
        core.stop()
        bare.stop()
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
