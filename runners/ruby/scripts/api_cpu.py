"""CPU per request of the core and of each runner for the API no-op, Ruby against TypeScript.

    .venv/bin/python runners/ruby/scripts/api_cpu.py [--rounds 4] [--seconds 5] [--baseline-runner PATH]
        [--variant LABEL=PATH ...] [--no-ts] [--frames] [--threads] [--connections 16]

One `motia-core serve` on the bench project (bench/projects/bench + bench-ruby), pinned with its
runners to CPU 0, wrk -c16 (--connections) pinned to CPU 1 (bench/benchlib's layout). With
--baseline-runner (a bin/motia-ruby-runner of another tree, e.g. `git archive HEAD runners/ruby | tar -x -C /tmp/old`),
a second core on the same CPU runs its Ruby steps with that runner (MOTIA_RUBY_RUNNER), idle while
the first is loaded. Each round loads every target once, in an order that reverses every round
(ABBA), so a drift of the shared machine weighs on all alike. CPU is utime+stime from
/proc/<pid>/stat of the core and of each of its runner processes, summed over all runs of a
target and divided by its requests, and so are context switches (every thread's, from
/proc/<pid>/task); req/s is printed too but on a shared machine it is noise. --frames also counts,
inside each core, the gRPC messages (frames) and envelopes to and from the step's runner per request
(scripts/core_frames/sitecustomize.py, loaded through PYTHONPATH; it adds a little core CPU, so
compare CPU from runs without it). --threads splits the Ruby runner's CPU by thread (main = the
reader; motia-worker-N; grpc's write thread; "ruby" = grpc's channel-polling and event threads).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
from benchlib.loadgen import wrk  # noqa: E402
from benchlib.procs import Service, free_port  # noqa: E402
from benchlib.resources import ctx_switches  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
FRAME_COUNTER = Path(__file__).resolve().parent / "core_frames"
RUNNER_OF = {"ts": "node", "rb": "ruby"}  # target path suffix -> RunnerInfo.language


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


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread of `pid`, by thread name ("main" for the main thread), as
    "thread <name>" keys, and its context switches (voluntary and not) as "tcs <name>" (threads of one
    name add up)."""
    out: dict[str, float] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"thread {name}"] = out.get(f"thread {name}", 0.0) + (int(fields[11]) + int(fields[12])) / TICK
        try:
            status = (task / "status").read_text()
        except OSError:
            continue
        switches = sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches:" in line)
        out[f"tcs {name}"] = out.get(f"tcs {name}", 0.0) + switches
    return out


def snapshot(core: Service, threads: bool = False) -> dict[str, float]:
    """CPU seconds per process kind, context switches (all threads) under "<kind> cs", and with
    `threads` the Ruby runner's CPU per thread under "thread <name>"."""
    out = {"core": cpu_seconds(core.pid), "core cs": float(ctx_switches(core.pid))}
    for child in core.descendants():
        try:
            k = kind(child)
        except psutil.Error:
            continue
        out[k] = out.get(k, 0.0) + cpu_seconds(child.pid)
        out[f"{k} cs"] = out.get(f"{k} cs", 0.0) + ctx_switches(child.pid)
        if threads and k == "ruby runner":
            for name, value in thread_cpu(child.pid).items():
                out[name] = out.get(name, 0.0) + value
    return out


def frame_counts(path: Path, language: str) -> list[int]:
    """[frames in, envelopes in, frames out, envelopes out] of the core's sessions with `language`
    (as of the counter's last dump: wait 0.5 s after the load for it to be current)."""
    try:
        counts: dict[str, list[int]] = json.loads(path.read_text())
    except (OSError, ValueError):
        return [0, 0, 0, 0]
    return counts.get(language, [0, 0, 0, 0])


def start_core(work: Path, name: str, env: dict[str, str], frames: bool = False) -> tuple[Service, int]:
    if frames:
        pythonpath = os.pathsep.join(p for p in (str(FRAME_COUNTER), os.environ.get("PYTHONPATH", "")) if p)
        env = {**env, "PYTHONPATH": pythonpath, "MOTIA_FRAME_COUNTS": str(work / f"{name}.frames.json")}
    project = work / name
    shutil.copytree(ROOT / "bench/projects/bench", project)
    shutil.copytree(ROOT / "bench/projects/bench-ruby", project, dirs_exist_ok=True)
    port = free_port()
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
    ap.add_argument("--variant", action="append", default=[], help="LABEL=PATH of another bin/motia-ruby-runner")
    ap.add_argument("--no-ts", action="store_true", help="leave the TypeScript target out")
    ap.add_argument("--frames", action="store_true", help="count the core's frames to and from the runner")
    ap.add_argument("--threads", action="store_true", help="the Ruby runner's CPU per request by thread")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections (16; 1 for the added latency)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rb-api-cpu-"))
    cores = [start_core(work, "core", {}, args.frames)]
    counter_files = [work / "core.frames.json"]
    targets = {"rb": (0, "rb")} if args.no_ts else {"ts": (0, "ts"), "rb": (0, "rb")}
    variants = [f"rb-baseline={args.baseline_runner}"] if args.baseline_runner else []
    for spec in [*variants, *args.variant]:
        label, _, path = spec.partition("=")
        if not path:
            ap.error(f"--variant wants LABEL=PATH, got {spec!r}")
        cores.append(start_core(work, f"core-{label}", {"MOTIA_RUBY_RUNNER": path}, args.frames))
        counter_files.append(work / f"core-{label}.frames.json")
        targets[label] = (len(cores) - 1, "rb")
    try:
        for i, lang in targets.values():
            svc, port = cores[i]
            url = f"http://127.0.0.1:{port}/noop/{lang}"
            svc.wait_http(url, timeout=120)
            wrk(url, connections=16, duration=3, cpus="1")  # warm-up (node's JIT, ruby's caches)
        totals: dict[str, dict[str, float]] = {label: {} for label in targets}
        requests = dict.fromkeys(targets, 0)
        rps: dict[str, list[float]] = {label: [] for label in targets}
        p50s: dict[str, list[float]] = {label: [] for label in targets}
        frames: dict[str, list[int]] = {label: [0, 0, 0, 0] for label in targets}
        for r in range(args.rounds):
            order = list(targets) if r % 2 == 0 else list(reversed(targets))
            for label in order:
                index, path = targets[label]
                svc, port = cores[index]
                if args.frames:
                    time.sleep(0.6)
                    frames_before = frame_counts(counter_files[index], RUNNER_OF[path])
                before = snapshot(svc, args.threads)
                run = wrk(
                    f"http://127.0.0.1:{port}/noop/{path}",
                    connections=args.connections,
                    duration=args.seconds,
                    cpus="1",
                )
                p50s[label].append(run["latency_us"]["p50"])
                after = snapshot(svc, args.threads)
                if args.frames:
                    time.sleep(0.6)
                    frames_after = frame_counts(counter_files[index], RUNNER_OF[path])
                    deltas = zip(frames[label], frames_after, frames_before, strict=True)
                    frames[label] = [total + a - b for total, a, b in deltas]
                requests[label] += run["requests"]
                for key, value in after.items():
                    totals[label][key] = totals[label].get(key, 0.0) + value - before.get(key, 0.0)
                rps[label].append(run["rps"])
                print(f"round {r + 1} {label}: {run['rps']:,.0f} req/s, errors {run['errors']}", flush=True)
        for label, t in totals.items():
            n = requests[label]
            cpu = {k: v for k, v in t.items() if not k.endswith(" cs") and not k.startswith(("thread ", "tcs "))}
            thread_cs = {k[4:]: v / n for k, v in t.items() if k.startswith("tcs ")}
            per_thread = {k[7:]: v / n * 1e6 for k, v in t.items() if k.startswith("thread ")}
            parts = ", ".join(f"{k} {v / n * 1e6:.0f} us" for k, v in sorted(cpu.items()) if v / n * 1e6 >= 5)
            cs = {k[:-3]: v / n for k, v in t.items() if k.endswith(" cs")}
            switches = ", ".join(f"{k} {v:.2f}" for k, v in sorted(cs.items()) if v >= 0.05)
            print(
                f"{label}: {n:,} requests, median {statistics.median(rps[label]):,.0f} req/s, "
                f"median p50 {statistics.median(p50s[label]) / 1000:.2f} ms; "
                f"CPU per request: {parts}; all {sum(cpu.values()) / n * 1e6:.0f} us; "
                f"context switches per request: {switches}"
            )
            if per_thread and targets[label][1] == "rb":
                busy = ", ".join(f"{k} {v:.0f} us" for k, v in sorted(per_thread.items()) if v >= 1)
                print(f"{label}: ruby runner CPU per request by thread: {busy}")
                by_thread = ", ".join(f"{k} {v:.2f}" for k, v in sorted(thread_cs.items()) if v >= 0.01)
                print(f"{label}: ruby runner context switches per request by thread: {by_thread}")
            if args.frames:
                f_in, e_in, f_out, e_out = (x / n for x in frames[label])
                print(
                    f"{label}: frames per request from the runner {f_in:.3f} ({e_in:.2f} envelopes), "
                    f"to the runner {f_out:.3f} ({e_out:.2f} envelopes)"
                )
    finally:
        for svc, _ in cores:
            svc.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
