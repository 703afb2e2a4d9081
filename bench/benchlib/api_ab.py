"""A/B two trees of the core on the API no-op steps, interleaved A B B A per round: CPU and context
switches per request at c1 and c16, from /proc, besides wrk's p50 and p99.

    python bench/benchlib/api_ab.py 'TREE_A|TREE_B[@VAR=value;VAR2=value]' ROUNDS [--seconds 5]

A tree is a folder holding core/motia_core, runners/python/motia_runner and sdk-python/motia (a
copy of the checkout with some files at an older commit, or the checkout itself); if it has
runners/node/dist/runner.cjs (with runners/node/node_modules and proto/ resolving: symlinks to the
checkout's will do) the Node runner is that one. `@VAR=value;...` adds environment variables to that
side's `serve`. Each run starts `python -m motia_core serve` on a copy of bench/projects/bench pinned
to CPU 0 (its runners inherit it), warms `/noop/ts` and `/noop/py` at c16, then measures each at c1
and c16 with `taskset -c 1 wrk -t1`, and stops the server and its runners. CPU per request =
(utime + stime of the core, and of the step's runner) / the requests wrk counted; context switches
per request are summed over every thread of the process. Prints each run and then, per cell, the
median over the runs and the paired B - A difference of each A B B A block (the figure to trust on a
shared machine: a drift of the machine's speed weighs on both sides of a block alike). Used for
docs/performance.md ("Per-request cost at c1").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")
CELLS = [(lang, c) for lang in ("ts", "py") for c in (1, 16)]
METRICS = ("p50", "p99", "core", "runner", "cs", "rcs")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return [text[text.index("(") + 1 : text.rindex(")")], *text[text.rindex(")") + 2 :].split()]


def _cpu(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[12]) + int(fields[13])) / TICK


def _switches(pid: int) -> int:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
        except OSError:  # a thread that ended meanwhile
            continue
    return total


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat(int(entry))
            except OSError:
                continue
            if int(fields[2]) == pid:
                found.append((int(entry), fields[0]))
    return found


def _wrk(url: str, connections: int, seconds: int) -> tuple[int, float, float]:
    argv = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise SystemExit(f"wrk printed no request count:\n{out}")

    def percentile(p: int) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\b", out, re.M)
        if m is None:
            raise SystemExit(f"wrk printed no {p}th percentile:\n{out}")
        return float(m.group(1)) * {"us": 1.0, "ms": 1e3, "s": 1e6}[m.group(2)]

    return int(found.group(1)), percentile(50), percentile(99)


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def one_run(spec: str, seconds: int, project: Path, log: Path) -> dict[str, dict[str, float]]:
    tree, _, extra = spec.partition("@")
    env = {**os.environ, **dict(kv.split("=", 1) for kv in extra.split(";") if kv)}
    env["PYTHONPATH"] = os.pathsep.join(f"{tree}/{p}" for p in ("core", "runners/python", "sdk-python"))
    node = Path(tree) / "runners/node/dist/runner.cjs"
    if node.exists():
        env["MOTIA_NODE_RUNNER"] = str(node)
    port = _port()
    argv = ["taskset", "-c", "0", str(REPO / ".venv/bin/python"), "-m", "motia_core", "serve", "--dir", str(project)]
    argv += ["--port", str(port), "--host", "127.0.0.1", "--log-level", "warn"]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/noop/"
    results: dict[str, dict[str, float]] = {}
    try:
        deadline = time.monotonic() + 180
        while not (_get(base + "ts") and _get(base + "py")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not answer on {base}ts and py; see {log}")
            time.sleep(0.2)
        for lang in ("ts", "py"):
            _wrk(base + lang, 16, 2)  # warm-up (Node's JIT), not counted
        for lang, c in CELLS:
            runner = [pid for pid, name in _children(proc.pid) if name.startswith("node" if lang == "ts" else "python")]
            before = (_cpu(proc.pid), sum(map(_cpu, runner)), _switches(proc.pid), sum(map(_switches, runner)))
            n, p50, p99 = _wrk(base + lang, c, seconds)
            after = (_cpu(proc.pid), sum(map(_cpu, runner)), _switches(proc.pid), sum(map(_switches, runner)))
            core, run_cpu, cs, rcs = (a - b for a, b in zip(after, before, strict=True))
            results[f"{lang} c{c}"] = {
                "n": n,
                "p50": p50,
                "p99": p99,
                "core": core / n * 1e6,
                "runner": run_cpu / n * 1e6,
                "cs": cs / n,
                "rcs": rcs / n,
            }
    finally:
        children = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        for pid, _ in children:  # runners live in the core's session; this is in case one did not
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return results


def report(specs: list[str], runs: list[tuple[str, dict[str, dict[str, float]]]]) -> None:
    a, b = specs
    print(f"load average at the end: {os.getloadavg()}")
    for cell in [f"{lang} c{c}" for lang, c in CELLS]:
        for spec in specs:
            mine = [r[cell] for s, r in runs if s == spec]
            medians = " ".join(f"{m} {statistics.median(r[m] for r in mine):,.1f}" for m in METRICS)
            print(f"{cell:6} {spec[-48:]:48} median of {len(mine)}: {medians} (p50/p99/CPU in µs)")
        for m in ("p50", "core", "runner", "cs", "rcs"):
            paired = []
            for i in range(0, len(runs) - 3, 4):
                block = runs[i : i + 4]
                side_a = [r[cell][m] for s, r in block if s == a]
                side_b = [r[cell][m] for s, r in block if s == b]
                paired.append(statistics.mean(side_b) - statistics.mean(side_a))
            print(f"{cell:6} B - A {m:6} per A B B A block: {', '.join(f'{d:+,.1f}' for d in paired)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", help="'TREE_A|TREE_B', each optionally followed by @VAR=value;VAR2=value")
    parser.add_argument("rounds", type=int, help="A B B A blocks")
    parser.add_argument("--seconds", type=int, default=5, help="wrk seconds per cell (5)")
    args = parser.parse_args()
    specs = args.trees.split("|")
    if len(specs) != 2:
        raise SystemExit("give exactly two trees: 'TREE_A|TREE_B'")
    runs: list[tuple[str, dict[str, dict[str, float]]]] = []
    with tempfile.TemporaryDirectory(prefix="api-ab-") as tmp:
        project = Path(tmp) / "bench"
        shutil.copytree(REPO / "bench/projects/bench", project)
        for spec in (specs + specs[::-1]) * args.rounds:
            result = one_run(spec, args.seconds, project, Path(tmp) / "serve.log")
            runs.append((spec, result))
            brief: dict[str, Any] = {k: {m: round(v, 1) for m, v in r.items()} for k, r in result.items()}
            print(spec, json.dumps(brief), flush=True)
    report(specs, runs)


if __name__ == "__main__":
    main()
