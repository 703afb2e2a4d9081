"""Where a recorded log line's CPU goes in a serving core: CPU per request of a logging step split by
process and thread (the core's event loop, its SQLite writer, its other threads, the step's runner),
recording on against `serve --no-record`, from /proc/<pid>/task/<tid>/stat.

    python bench/benchlib/record_split.py [--rounds 6] [--seconds 4] [--paths /log/ts,/log/py]
        [--mode together|alternate] [--sides on,off] [--tree-b DIR]

Two servers on copies of bench/projects/bench, pinned to CPU 0 with their runners, `--log-level info`
and stdout to a file like the record suite (suite_record.py); the recording one's store prefilled to its
retention bound. `together` loads both at once (a wrk each on CPU 1, `--seconds` each round: the suite's
mode, where the two share CPU 0); `alternate` loads one at a time, A B B A then B A A B. A side is `on`
(records) or `off` (`--no-record`); a name ending in `B` runs the tree `--tree-b` (a folder holding
core/, runners/ and sdk-python/), so `--sides on,onB` A/Bs a change to the recording path. Python
threads are named from `py-spy dump` (uvloop_0: the worker thread that writes .motia/logs.db).
Prints each run, then per path and thread the median µs CPU (and context switches) per request of
each side and their difference. docs/performance.md ("Recording a log line") quotes it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_ab import _get, _port  # the same free port and HTTP probe as the API A/B

REPO = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")
Split = dict[str, tuple[float, float]]  # "core:main" -> (µs CPU per request, context switches per request)
Snapshot = dict[int, tuple[str, float, int]]  # tid -> (comm, CPU seconds, context switches)


def _after_comm(stat: str) -> list[str]:
    return stat[stat.rindex(")") + 2 :].split()


def _threads(pid: int) -> Snapshot:
    found: Snapshot = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            fields = _after_comm(Path(f"{base}/stat").read_text())
            status = Path(f"{base}/status").read_text()
            comm = Path(f"{base}/comm").read_text().strip()
        except OSError:  # a thread that ended meanwhile
            continue
        switches = sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line)
        found[int(tid)] = (comm, (int(fields[11]) + int(fields[12])) / TICK, switches)
    return found


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(_after_comm(stat)[1]) == pid:
            found.append((int(entry), stat[stat.index("(") + 1 : stat.rindex(")")]))
    return found


def _python_thread_names(pid: int, names: dict[int, str]) -> None:
    spy = REPO / ".venv/bin/py-spy"
    if spy.exists():
        out = subprocess.run([str(spy), "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60).stdout
        names.update((int(m[1]), m[2]) for m in re.finditer(r'^Thread (\d+) \(\w+\): "([^"]*)"', out, re.M))


class Side:
    def __init__(self, name: str, tree: Path, work: Path, paths: list[str]) -> None:
        sys.path.insert(0, str(REPO / "bench"))
        from benchlib.record_cost import prefill

        self.name = name
        self.recording = name.startswith("on")
        project = work / name
        shutil.copytree(REPO / "bench/projects/bench", project, symlinks=True)
        if self.recording:  # the store a core that has served for a while writes into, as the suite's
            prefill(project / ".motia" / "logs.db", 100_000)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(tree / p) for p in ("core", "runners/python", "sdk-python")),
        }
        if (tree / "runners/node/dist/runner.cjs").exists():
            env["MOTIA_NODE_RUNNER"] = str(tree / "runners/node/dist/runner.cjs")
        port = _port()
        argv = [
            "taskset",
            "-c",
            "0",
            str(REPO / ".venv/bin/python"),
            "-m",
            "motia_core",
            "serve",
            "--dir",
            str(project),
        ]
        argv += ["--port", str(port), "--host", "127.0.0.1", "--log-level", "info"]
        argv += [] if self.recording else ["--no-record"]
        with (work / f"{name}.log").open("w") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while not all(_get(self.base + p) for p in paths):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name}: serve did not answer {paths}; see {work / name}.log")
            time.sleep(0.3)
        self.names: dict[int, str] = {}

    def runners(self, path: str) -> list[int]:
        lang = path.rsplit("/", 1)[1]
        return [pid for pid, comm in _children(self.proc.pid) if comm.startswith("node" if lang == "ts" else "python")]

    def name_threads(self) -> None:
        _python_thread_names(self.proc.pid, self.names)
        for pid, comm in _children(self.proc.pid):
            if comm.startswith("python"):
                _python_thread_names(pid, self.names)

    def snapshot(self, runners: list[int]) -> dict[int, Snapshot]:
        return {pid: _threads(pid) for pid in (self.proc.pid, *runners)}

    def split(self, before: dict[int, Snapshot], after: dict[int, Snapshot], requests: int) -> Split:
        sums: dict[str, list[float]] = {}
        for pid, threads in after.items():
            who = "core" if pid == self.proc.pid else "runner"
            for tid, (comm, cpu, switches) in threads.items():
                if tid not in before[pid]:
                    continue
                key = f"{who}:{'main' if tid == pid else self.names.get(tid, comm)}"
                acc = sums.setdefault(key, [0.0, 0.0])
                acc[0] += cpu - before[pid][tid][1]
                acc[1] += switches - before[pid][tid][2]
        return {k: (cpu / requests * 1e6, cs / requests) for k, (cpu, cs) in sums.items()}

    def stop(self) -> None:
        children = _children(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        for pid, _ in children:  # in case a runner outlived the core's session
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _wrk(url: str, seconds: float) -> subprocess.Popen[str]:
    argv = ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds:g}s", url]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def _requests(wrk: subprocess.Popen[str]) -> int:
    out = wrk.communicate(timeout=120)[0]
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise SystemExit(f"wrk printed no request count:\n{out}")
    return int(found.group(1))


def measure(sides: list[Side], path: str, seconds: float) -> dict[str, tuple[int, Split]]:
    """The sides loaded at the same time (each its own wrk): their splits over the same interval."""
    runners = {s.name: s.runners(path) for s in sides}
    before = {s.name: s.snapshot(runners[s.name]) for s in sides}
    loads = {s.name: _wrk(s.base + path, seconds) for s in sides}
    counts = {name: _requests(w) for name, w in loads.items()}
    out = {}
    for s in sides:
        n = counts[s.name]
        out[s.name] = (n, s.split(before[s.name], s.snapshot(runners[s.name]), max(n, 1)))
    return out


def report(path: str, names: list[str], runs: dict[str, list[Split]]) -> None:
    a, b = names
    print(f"== {path}: median µs CPU per request (context switches per request): {a} | {b} | {a} - {b}")
    keys = sorted({k for name in names for split in runs[name] for k in split})
    for key in keys:
        med = {n: [statistics.median(s.get(key, (0.0, 0.0))[i] for s in runs[n]) for i in (0, 1)] for n in names}
        if med[a][0] or med[b][0]:
            cells = f"{med[a][0]:7.1f} ({med[a][1]:.2f}) | {med[b][0]:7.1f} ({med[b][1]:.2f})"
            print(f"  {key:32s} {cells} | {med[a][0] - med[b][0]:+7.1f}")
    total = {n: [sum(v[0] for v in s.values()) for s in runs[n]] for n in names}
    print(
        f"  {'all threads (median of sums)':32s} {statistics.median(total[a]):7.1f}        | "
        f"{statistics.median(total[b]):7.1f}        | {statistics.median(total[a]) - statistics.median(total[b]):+7.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=4.0, help="wrk run of each side")
    ap.add_argument("--paths", default="/log/ts,/log/py")
    ap.add_argument("--mode", choices=("together", "alternate"), default="together")
    ap.add_argument("--sides", default="on,off", help="two of on, off, onB, offB")
    ap.add_argument("--tree-b", type=Path, help="the tree of the sides whose name ends in B")
    args = ap.parse_args()
    names = args.sides.split(",")
    paths = args.paths.split(",")
    if len(names) != 2 or len(set(names)) != 2 or any(n.rstrip("B") not in ("on", "off") for n in names):
        ap.error(f"--sides: two different sides of on, off, onB, offB, got {args.sides!r}")
    if any(n.endswith("B") for n in names) and args.tree_b is None:
        ap.error("--tree-b is needed for a side ending in B")
    sides: list[Side] = []
    with tempfile.TemporaryDirectory(prefix="record-split-") as tmp:
        try:
            for name in names:
                sides.append(Side(name, args.tree_b if name.endswith("B") else REPO, Path(tmp), paths))
            for path in paths:  # warm-up: Node's JIT, the first connections
                measure(sides, path, 3)
            for s in sides:
                s.name_threads()
            runs: dict[str, dict[str, list[Split]]] = {p: {n: [] for n in names} for p in paths}
            for r in range(args.rounds):
                for path in paths:
                    if args.mode == "together":
                        groups = [sides]
                    else:
                        order = sides if r % 2 == 0 else sides[::-1]
                        groups = [[order[0]], [order[1]], [order[1]], [order[0]]]
                    for group in groups:
                        for name, (n, split) in measure(group, path, args.seconds).items():
                            runs[path][name].append(split)
                            cells = " ".join(f"{k}={v[0]:.1f}" for k, v in sorted(split.items()) if v[0])
                            print(f"round {r + 1} {path} {name} {n} requests: {cells}", flush=True)
            for path in paths:
                report(path, names, runs[path])
        finally:
            for s in sides:
                s.stop()


if __name__ == "__main__":
    main()
