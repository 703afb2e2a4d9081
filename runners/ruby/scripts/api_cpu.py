"""CPU per request of the core and of each runner for the API no-op, Ruby against TypeScript.

    .venv/bin/python runners/ruby/scripts/api_cpu.py [--rounds 4] [--seconds 5] [--baseline-runner PATH]

One `motia-core serve` on the bench project (bench/projects/bench + bench-ruby), pinned with its
runners to CPU 0, wrk -c16 pinned to CPU 1 (bench/benchlib's layout). With --baseline-runner (a
bin/motia-ruby-runner of another tree, e.g. `git archive HEAD runners/ruby | tar -x -C /tmp/old`),
a second core on the same CPU runs its Ruby steps with that runner (MOTIA_RUBY_RUNNER), idle while
the first is loaded. Each round loads every target once, in an order that reverses every round
(ABBA), so a drift of the shared machine weighs on all alike. CPU is utime+stime from
/proc/<pid>/stat of the core and of each of its runner processes, summed over all runs of a
target and divided by its requests; req/s is printed too but on a shared machine it is noise.
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
        return "ruby runner"
    if "node" in cmd:
        return "node runner"
    return "python runner" if "python" in cmd else proc.name()


def snapshot(core: Service) -> dict[str, float]:
    out = {"core": cpu_seconds(core.pid)}
    for child in core.descendants():
        try:
            k = kind(child)
        except psutil.Error:
            continue
        out[k] = out.get(k, 0.0) + cpu_seconds(child.pid)
    return out


def start_core(work: Path, name: str, env: dict[str, str]) -> tuple[Service, int]:
    project = work / name
    shutil.copytree(ROOT / "bench/projects/bench", project)
    shutil.copytree(ROOT / "bench/projects/bench-ruby", project, dirs_exist_ok=True)
    port = 18000 + (os.getpid() + len(name)) % 2000
    argv = [str(ROOT / ".venv/bin/motia-core"), "serve", "--dir", str(project), "--port", str(port)]
    core = Service(
        name, [*argv, "--host", "127.0.0.1", "--log-level", "warn"], log=work / f"{name}.log", cpus="0", env=env
    )
    core.start()
    return core, port


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--baseline-runner", help="another bin/motia-ruby-runner to compare with (target rb-baseline)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rb-api-cpu-"))
    cores = [start_core(work, "core", {})]
    targets = {"ts": (0, "ts"), "rb": (0, "rb")}
    if args.baseline_runner:
        cores.append(start_core(work, "core-baseline", {"MOTIA_RUBY_RUNNER": args.baseline_runner}))
        targets["rb-baseline"] = (1, "rb")
    try:
        for i, lang in targets.values():
            svc, port = cores[i]
            url = f"http://127.0.0.1:{port}/noop/{lang}"
            svc.wait_http(url, timeout=120)
            wrk(url, connections=16, duration=3, cpus="1")  # warm-up (node's JIT, ruby's caches)
        totals: dict[str, dict[str, float]] = {label: {} for label in targets}
        requests = dict.fromkeys(targets, 0)
        rps: dict[str, list[float]] = {label: [] for label in targets}
        for r in range(args.rounds):
            order = list(targets) if r % 2 == 0 else list(reversed(targets))
            for label in order:
                svc, port = cores[targets[label][0]]
                before = snapshot(svc)
                run = wrk(
                    f"http://127.0.0.1:{port}/noop/{targets[label][1]}", connections=16, duration=args.seconds, cpus="1"
                )
                after = snapshot(svc)
                requests[label] += run["requests"]
                for key, value in after.items():
                    totals[label][key] = totals[label].get(key, 0.0) + value - before.get(key, 0.0)
                rps[label].append(run["rps"])
                print(f"round {r + 1} {label}: {run['rps']:,.0f} req/s, errors {run['errors']}", flush=True)
        for label, t in totals.items():
            n = requests[label]
            parts = ", ".join(f"{k} {v / n * 1e6:.0f} us" for k, v in sorted(t.items()) if v / n * 1e6 >= 5)
            print(
                f"{label}: {n:,} requests, median {statistics.median(rps[label]):,.0f} req/s; "
                f"CPU per request: {parts}; all {sum(t.values()) / n * 1e6:.0f} us"
            )
    finally:
        for svc, _ in cores:
            svc.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
