"""RSS and CPU of a server's processes (psutil): a snapshot when idle, a sampler under load."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from benchlib import memory_pages

MB = 1024 * 1024


def role_of(proc: psutil.Process) -> str:
    """A readable name for one process of a server under test."""
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "?"
    if "bullmq/chain.mjs" in cmd:
        return "bullmq (node)"
    if "runner.cjs" in cmd:
        return "node runner"
    if "motia-go-runner" in cmd or "motia_runner_go" in cmd:  # before "motia_runner": the go launcher's name
        return "go runner"
    if "motia_runner" in cmd or "bootstrap.py" in cmd:
        return "python runner"
    if "motia-ruby-runner" in cmd:
        return "ruby runner"
    if "motia-core" in cmd:
        return "core"
    if "redis-server" in cmd:
        return "redis-server"
    if "redis_killer" in cmd:
        return "redis watchdog (node)"
    if "esbuild" in cmd:
        return "esbuild service"
    if "python-runner.py" in cmd or "node-runner" in cmd:
        return "per-call child"
    if "motia" in cmd and ("start" in cmd or "dev" in cmd):
        return "motia (node)"
    return proc.name()


def ctx_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of every thread of `pid` (psutil counts the main thread only)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for line in (task / "status").read_text().splitlines():
                    if "ctxt_switches:" in line:
                        total += int(line.split(":", 1)[1])
    except OSError:
        pass
    return total


def tree(root_pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(root_pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def snapshot(root_pid: int) -> dict[str, Any]:
    """RSS, PSS and USS (MB) of every process in the tree, by role; their sums; and `unique_mb`, the
    tree's resident memory with each physical page counted once (memory_pages.py; None without root).

    Which sum means what (bench/README.md, "Resources"): the RSS sum counts a page shared by two of the
    tree's processes (libpython, the node binary, grpc's .so in the core and the Python runner) twice;
    the USS sum counts none of them; PSS splits each shared page among every process on the machine
    that maps it, so it moves with whatever else runs (another node process halves the node binary's
    share). `unique_mb` is the one that depends on nothing but the tree: what stopping it would free,
    were its pages not shared with anything outside it."""
    procs: list[dict[str, Any]] = []
    live: list[psutil.Process] = []
    for p in tree(root_pid):
        with contextlib.suppress(psutil.Error):
            mem = p.memory_full_info()
            if mem.rss == 0:  # a zombie (exited, not yet reaped): nothing resident, no command line
                continue
            procs.append(
                {
                    "role": role_of(p),
                    "pid": p.pid,
                    "rss_mb": mem.rss / MB,
                    "pss_mb": mem.pss / MB,
                    "uss_mb": mem.uss / MB,
                }
            )
            live.append(p)
    # one read of the page tables for both (the soak snapshots every 10 s)
    unique, split = unique_and_split([p.pid for p in live])
    return {
        "processes": procs,
        "rss_mb": sum(p["rss_mb"] for p in procs),
        "pss_mb": sum(p["pss_mb"] for p in procs),
        "uss_mb": sum(p["uss_mb"] for p in procs),
        "unique_mb": unique,
        "split_mb": split,
    }


def unique_and_split(pids: list[int]) -> tuple[float | None, dict[str, Any] | None]:
    """`unique_mb` and split_mb() from one read of the page tables; (None, None) without root."""
    found = memory_pages.unique_and_split_mb(pids)
    if found is None:
        return None, None
    return found[0], summarize_split(found[1])


def split_mb(pids: list[int]) -> dict[str, Any] | None:
    """`unique_mb` split into anonymous memory (the processes' heaps) and the files they map (programs
    and libraries), with the largest files; None without root, as unique_mb."""
    by_mapping = memory_pages.unique_by_mapping_mb(pids)
    return None if by_mapping is None else summarize_split(by_mapping)


def summarize_split(by_mapping: dict[str, float], top: int = 4) -> dict[str, Any]:
    """Anonymous MB, files MB and the `top` largest files of a memory_pages split."""
    files = sorted(((mb, name) for name, mb in by_mapping.items() if name != "anonymous"), reverse=True)
    return {
        "anonymous": by_mapping.get("anonymous", 0.0),
        "files": sum(mb for mb, _ in files),
        "largest_files": [[name, mb] for mb, name in files[:top]],
    }


def cpu_busy() -> dict[str, tuple[float, float]]:
    """Per CPU: (busy seconds = user + nice + system + irq + softirq, steal seconds) since boot."""
    out: dict[str, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    with contextlib.suppress(OSError):
        for line in Path("/proc/stat").read_text().splitlines():
            parts = line.split()
            if parts and parts[0].startswith("cpu") and parts[0] != "cpu":
                v = [int(x) for x in parts[1:9]]
                out[parts[0][3:]] = ((v[0] + v[1] + v[2] + v[5] + v[6]) / tick, v[7] / tick)
    return out


class Sampler:
    """CPU (% of one core, from cpu_times deltas) and peak RSS per role while a load runs."""

    def __init__(self, root_pid: int, interval: float = 0.25) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._ctx0: dict[int, int] = {}
        self._ctx1: dict[int, int] = {}
        self._peak_rss: dict[int, float] = {}
        self._threads0: dict[int, float] = {}
        self._threads1: dict[int, float] = {}
        self._t0 = self._t1 = 0.0

    def __enter__(self) -> Sampler:
        self._busy0 = cpu_busy()
        self._t0 = time.perf_counter()
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._t1 = time.perf_counter()
        self._busy1 = cpu_busy()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _root_threads(self) -> dict[int, float]:
        try:
            return {t.id: t.user_time + t.system_time for t in psutil.Process(self.root_pid).threads()}
        except psutil.Error:
            return {}

    def _sample(self) -> None:
        threads = self._root_threads()
        if not self._threads0:
            self._threads0 = threads
        self._threads1 = threads
        for p in tree(self.root_pid):
            with contextlib.suppress(psutil.Error):
                with p.oneshot():
                    t = p.cpu_times()
                    cpu = t.user + t.system
                    rss = p.memory_info().rss / MB
                    role = role_of(p) if p.pid not in self._first else self._first[p.pid][0]
                self._first.setdefault(p.pid, (role, cpu))
                self._last[p.pid] = (role, cpu)
                cs = ctx_switches(p.pid)
                self._ctx0.setdefault(p.pid, cs)
                self._ctx1[p.pid] = cs
                self._peak_rss[p.pid] = max(self._peak_rss.get(p.pid, 0.0), rss)

    def result(self) -> dict[str, Any]:
        wall = max(1e-9, self._t1 - self._t0)
        by_role: dict[str, dict[str, float]] = {}
        for pid, (role, cpu1) in self._last.items():
            cpu0 = self._first[pid][1]
            r = by_role.setdefault(role, {"cpu_pct": 0.0, "peak_rss_mb": 0.0, "processes": 0, "ctx_switches": 0})
            r["cpu_pct"] += 100.0 * (cpu1 - cpu0) / wall
            r["ctx_switches"] += self._ctx1.get(pid, 0) - self._ctx0.get(pid, 0)
            r["peak_rss_mb"] += self._peak_rss.get(pid, 0.0)
            r["processes"] += 1
        main = self._threads1.get(self.root_pid, 0.0) - self._threads0.get(self.root_pid, 0.0)
        rest = sum(v - self._threads0.get(t, 0.0) for t, v in self._threads1.items() if t != self.root_pid)
        busy = {cpu: 100.0 * (self._busy1.get(cpu, (0.0, 0.0))[0] - b0[0]) / wall for cpu, b0 in self._busy0.items()}
        steal = {cpu: 100.0 * (self._busy1.get(cpu, (0.0, 0.0))[1] - b0[1]) / wall for cpu, b0 in self._busy0.items()}
        try:
            sut_cpus = sorted(os.sched_getaffinity(self.root_pid))
        except OSError:
            sut_cpus = []
        ours = sum(r["cpu_pct"] for r in by_role.values())
        return {
            "wall_s": wall,
            "cpu_busy_pct": busy,
            "cpu_steal_pct": steal,
            # busy time on the server's CPUs that its own processes did not use: other load on the machine
            "foreign_pct_on_server_cpus": max(0.0, sum(busy.get(str(c), 0.0) for c in sut_cpus) - ours)
            if sut_cpus and len(sut_cpus) < len(busy)
            else None,
            "by_role": by_role,
            "root_threads": {"main_cpu_pct": 100.0 * main / wall, "other_threads_cpu_pct": 100.0 * rest / wall},
        }
