"""Does motia-core's speed depend on the session (Linux autogroup) it was started in?

    .venv/bin/python bench/session_check.py [--langs py,rb,ts] [--rounds 3] [--seconds 4] [-c 16]
        [--frames] [--core-cmd "CMD"]

Linux with ``kernel.sched_autogroup_enabled=1`` (most desktops and many servers) gives every session
one scheduling group: CPU time is shared fairly between *sessions* first, then between the threads
inside one. ``make bench`` starts the core with ``setsid`` (a session of its own, like a service
manager would); a user's shell script starts it in the caller's session, which the load generator
may share. Runners used to get sessions of their own (``start_new_session``), so the two modes
changed how the core and its runners were weighed against each other on the CPU they share and the
Python step's frames stopped batching in the caller's session; runners now follow the core into its
session (docs/performance.md), and both modes should cost the same CPU per request.

For each mode (``own``: the core in a new session; ``caller``: the core in this script's session,
with wrk in it too, like a plain shell script) one motia-core serves the bench project on CPU 0
(``taskset``) while wrk drives it from CPU 1; each language's no-op step is measured in interleaved
rounds. CPU per request (core and runners, from /proc via psutil) is the robust figure on a shared
machine; req/s moves with other load. ``--frames`` also counts the gRPC frames (``sendmsg``/``writev``
calls, with ``perf stat``) the core and the step's runner send per request: the batching the mode leaves.
``--core-cmd`` runs another build of the core, e.g. an older checkout through a small launcher
script named ``motia-core`` (the core's CPU is found by that name in its command line).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import resources
from benchlib.loadgen import wrk
from benchlib.procs import Service, free_port, install_cleanup, stop_all
from benchlib.suite_base import PROJECTS, VENV_BIN

MODES = ("own", "caller")
RUNNER_ROLES = {"py": "python runner", "rb": "ruby runner", "ts": "node runner", "js": "node runner"}


def start_core(core_cmd: list[str], project: Path, mode: str, logs: Path, cpus: str | None) -> tuple[Service, int]:
    port = free_port()
    argv = [*core_cmd, "serve", "--dir", str(project), "--port", str(port), "--host", "127.0.0.1"]
    log = logs / f"core-{mode}.log"
    svc = Service(f"core-{mode}", [*argv, "--log-level", "warn"], log=log, cpus=cpus, new_session=mode == "own")
    svc.start()
    return svc, port


@contextlib.contextmanager
def sendmsg_counter(pids: list[int], enabled: bool) -> Iterator[dict[tuple[int, str], int]]:
    """Count sendmsg and writev calls per pid: one per gRPC frame written (C-core uses sendmsg, grpc-js
    writev; the core's HTTP responses go out with write, not counted)."""
    counts: dict[tuple[int, str], int] = {}
    procs: dict[int, tuple[subprocess.Popen[str], Path]] = {}
    if enabled:
        for pid in pids:
            out = Path(f"/tmp/motia-session-check-perf-{pid}.txt")
            events = "syscalls:sys_enter_sendmsg,syscalls:sys_enter_writev"
            argv = ["perf", "stat", "-x,", "-e", events, "-p", str(pid), "-o", str(out)]
            procs[pid] = (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True), out)
    try:
        yield counts
    finally:
        for pid, (proc, out) in procs.items():
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in out.read_text().splitlines():
                    if "sys_enter_" in line:
                        counts[(pid, line.split("sys_enter_")[1].split(",")[0])] = int(line.split(",")[0])
            out.unlink(missing_ok=True)


def runner_pid(core: Service, lang: str) -> int | None:
    for p in core.descendants():
        with contextlib.suppress(Exception):
            if resources.role_of(p) == RUNNER_ROLES[lang]:
                return int(p.pid)
    return None


def measure(
    url: str, svc: Service, lang: str, c: int, seconds: float, load_cpus: str | None, frames: bool
) -> dict[str, Any]:
    runner = runner_pid(svc, lang)
    pids = [svc.pid] + ([runner] if runner else [])
    with sendmsg_counter(pids, frames) as sent, resources.Sampler(svc.pid) as sampler:
        run = wrk(url, connections=c, duration=seconds, cpus=load_cpus, new_session=svc.new_session)
    res = sampler.result()
    wall = res["wall_s"]
    requests = max(1, run["requests"])
    roles = res["by_role"]
    core_s = roles.get("core", {}).get("cpu_pct", 0.0) * wall / 100
    runner_s = roles.get(RUNNER_ROLES[lang], {}).get("cpu_pct", 0.0) * wall / 100
    out = {
        "rps": run["rps"],
        "p50_us": run["latency_us"]["p50"],
        "core_us": 1e6 * core_s / requests,
        "runner_us": 1e6 * runner_s / requests,
        "cpu_us": 1e6 * (core_s + runner_s) / requests,
        "ctx_per_req": (
            roles.get("core", {}).get("ctx_switches", 0) + roles.get(RUNNER_ROLES[lang], {}).get("ctx_switches", 0)
        )
        / requests,
        "other_load_pct": res["foreign_pct_on_server_cpus"] or 0.0,
    }
    if frames and runner and sent:
        # perf counts over its own lifetime, a little longer than wrk's run: an upper bound
        out["core_frames_per_req"] = sent.get((svc.pid, "sendmsg"), 0) / requests
        out["runner_frames_per_req"] = (sent.get((runner, "sendmsg"), 0) + sent.get((runner, "writev"), 0)) / requests
    return out


def describe(m: dict[str, Any]) -> str:
    text = (
        f"{m['rps']:>7,.0f} req/s  CPU/req {m['cpu_us']:>4.0f} µs (core {m['core_us']:.0f}, runner "
        f"{m['runner_us']:.0f})  ctx/req {m['ctx_per_req']:.1f}"
    )
    if "runner_frames_per_req" in m:
        text += f"  frames/req core {m['core_frames_per_req']:.2f} runner {m['runner_frames_per_req']:.2f}"
    return text + f"  other load {m['other_load_pct']:.0f} %"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--langs", default="py,rb,ts", help="comma-separated: py, rb, ts, js")
    p.add_argument("--modes", default=",".join(MODES), help="own, caller or both")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("-c", type=int, default=16, help="wrk connections")
    p.add_argument("--frames", action="store_true", help="count gRPC frames per request (needs perf)")
    p.add_argument("--core-cmd", default=str(VENV_BIN / "motia-core"), help="the motia-core command")
    p.add_argument("--out", type=Path, default=Path("/tmp/motia-session-check"))
    p.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = p.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    sut, load = (str(cpus[0]), str(cpus[1])) if len(cpus) >= 2 else (None, None)
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    enabled = autogroup.read_text().strip() if autogroup.exists() else "n/a"
    print(f"autogroup: {enabled}; servers on CPU {sut}, wrk on {load}; load average {os.getloadavg()[0]:.1f}")
    langs = [x for x in args.langs.split(",") if x]
    modes = [m for m in args.modes.split(",") if m]
    install_cleanup()
    project = args.out / "project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(PROJECTS / "bench", project)
    if "rb" in langs:
        shutil.copytree(PROJECTS / "bench-ruby", project, dirs_exist_ok=True)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {m: {lang: [] for lang in langs} for m in modes}
    servers: dict[str, tuple[Service, int]] = {}
    try:
        for mode in modes:
            servers[mode] = start_core(shlex.split(args.core_cmd), project, mode, args.out, sut)
        for svc, port in servers.values():
            svc.wait_http(f"http://127.0.0.1:{port}/noop/{langs[0]}", timeout=90)
            for lang in langs:  # warm-up (Node's JIT), not counted
                url = f"http://127.0.0.1:{port}/noop/{lang}"
                wrk(url, connections=args.c, duration=2, cpus=load, new_session=svc.new_session)
        for r in range(args.rounds):
            for lang in langs:
                for mode in modes if r % 2 == 0 else list(reversed(modes)):
                    svc, port = servers[mode]
                    url = f"http://127.0.0.1:{port}/noop/{lang}"
                    m = measure(url, svc, lang, args.c, args.seconds, load, args.frames)
                    results[mode][lang].append(m)
                    print(f"round {r + 1} {lang} {mode:<6} {describe(m)}", flush=True)
    finally:
        stop_all()
    print(f"\nmedian of {args.rounds} rounds, c{args.c}, {args.seconds:g} s each")
    keys = ["rps", "cpu_us", "core_us", "runner_us", "ctx_per_req"]
    header = "| step | core's session | req/s | CPU / request | core | runner | context switches / request |"
    if args.frames:
        keys += ["core_frames_per_req", "runner_frames_per_req"]
        header += " frames / request core, runner |"
    print(header)
    print("|" + "---|" * header.count(" |"))
    for lang in langs:
        for mode in modes:
            runs = results[mode][lang]
            if not runs:
                continue
            med = {k: statistics.median(x[k] for x in runs if k in x) for k in keys if any(k in x for x in runs)}
            row = [lang, mode, f"{med['rps']:,.0f}"] + [f"{med[k]:.0f} µs" for k in keys[1:4]]
            row.append(f"{med['ctx_per_req']:.1f}")
            if "runner_frames_per_req" in med:
                row.append(f"{med['core_frames_per_req']:.2f}, {med['runner_frames_per_req']:.2f}")
            print("| " + " | ".join(row) + " |")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
