"""The Ruby runner's own CPU per no-op invocation, by frame size, runner trees compared ABBA.

    .venv/bin/python runners/ruby/scripts/runner_cpu.py RUNNER[,RUNNER...] [--frame 8] [--frames 300] [--rounds 6]

Each RUNNER is a bin/motia-ruby-runner (of this tree, of a copy made before a change, or a one-line
Ruby wrapper that sets MOTIA_RUNNER_* and `load`s one). A throwaway core (scripts/bench.py's
grpc.aio BenchCore, unix socket) starts one runner per tree on a no-op API step, warms each up,
then per round sends every runner --frames CoreFrames of --frame StartInvocations, one frame at a
time (the next once all answers are back: --frame 1 is c1's traffic, ~8 is what a c16 load of the
API bench puts in a frame), in an order that reverses every round. CPU is utime+stime of each runner
process from /proc/<pid>/stat over its rounds, divided by its invocations. The core is not measured:
this isolates the runner (api_cpu.py measures the core and runner together under wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench

pb = bench.pb
TICK = os.sysconf("SC_CLK_TCK")
NOOP_STEP = """
def config = { "type" => "api", "name" => "Noop", "method" => "GET", "path" => "/noop", "emits" => [] }
def handler(_req, _ctx) = { "status" => 200, "body" => { "ok" => true } }
"""
TRIGGER_API = 1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def start_runner(
    project: Path, index: int, runner: str
) -> tuple[bench.BenchCore, object, asyncio.subprocess.Process]:
    core = bench.BenchCore(str(project / f"core-{index}.sock"), project)
    server = await core.start()
    bench.RUNNER = Path(runner)  # BenchCore.spawn starts `ruby bench.RUNNER`
    proc, _ = await core.spawn()
    core.loaded = asyncio.get_running_loop().create_future()
    step = pb.StepFile(step_id="noop", path=str(project / "steps" / "noop_step.rb"), relative_path="steps/noop_step.rb")
    core.out.put_nowait([pb.CoreMessage(load_steps=pb.LoadSteps(request_id=1, files=[step]))])
    loaded = await asyncio.wait_for(core.loaded, 30)
    if loaded.errors:
        raise SystemExit(f"{runner}: {loaded.errors[0].message}")
    return core, server, proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runners", help="comma-separated bin/motia-ruby-runner paths")
    parser.add_argument("--frame", type=int, default=8, help="StartInvocations per CoreFrame (8)")
    parser.add_argument("--frames", type=int, default=300, help="frames per runner per round (300)")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    runners = [os.path.abspath(runner) for runner in args.runners.split(",")]  # runners start in the project
    asyncio.run(measure(runners, args))


async def measure(runners: list[str], args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "steps").mkdir()
        (project / "steps" / "noop_step.rb").write_text(NOOP_STEP)
        started = [await start_runner(project, i, runner) for i, runner in enumerate(runners)]
        try:
            payloads = [b"{}"] * args.frame
            for core, _, _ in started:  # warm-up: the inline policy learns, caches fill
                for _ in range(200):
                    await core.burst("noop", TRIGGER_API, payloads)
            totals = [0.0] * len(runners)
            for r in range(args.rounds):
                order = list(range(len(runners)))
                for i in order if r % 2 == 0 else reversed(order):
                    core, _, proc = started[i]
                    before = cpu_seconds(proc.pid)
                    for _ in range(args.frames):
                        await core.burst("noop", TRIGGER_API, payloads)
                    totals[i] += cpu_seconds(proc.pid) - before
            n = args.rounds * args.frames * args.frame
            for runner, total in zip(runners, totals, strict=True):
                print(f"{runner}: {total / n * 1e6:.1f} us per invocation ({n:,} invocations, {args.frame} per frame)")
        finally:
            for _, server, proc in started:
                proc.kill()
                await proc.wait()
                await server.stop(None)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
