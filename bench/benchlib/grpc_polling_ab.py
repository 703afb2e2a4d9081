"""grpc's default EventEngine endpoints against the polling path the core chooses
(core/motia_core/runners/grpc_polling.py), on one bidi stream, interleaved A B B A.

    python bench/benchlib/grpc_polling_ab.py [--rounds 3] [--calls 3000] [--cpus 0]

Each run is a fresh process (grpc reads GRPC_EXPERIMENTS once, at import) holding both ends of one
stream over a unix socket, as the core and a Python runner do: a grpc.aio server under uvloop that
echoes each message, and a client that writes one 40-byte message and reads its echo, `--calls`
times after 300 not counted. Prints, per run and as medians, the process's CPU time (all threads,
getrusage) and context switches (all threads, /proc) per round trip, and the wall time. CPU per
round trip is the figure to compare on a shared machine. Used for docs/performance.md
("Per-request cost at c1").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

POLLING = "-event_engine_listener,-event_engine_for_all_other_endpoints,-event_engine_client"

_CHILD = """
import asyncio, os, resource, sys, time
import grpc, uvloop

calls = int(sys.argv[1])


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def switches():
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            for line in open(f"/proc/self/task/{tid}/status"):
                if "ctxt_switches" in line:
                    n += int(line.split()[1])
        except OSError:
            pass
    return n


async def echo(requests, context):
    async for message in requests:
        yield message


async def main():
    handler = grpc.stream_stream_rpc_method_handler(echo)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("b.B", {"Echo": handler})])
    address = f"unix:{sys.argv[2]}"
    server.add_insecure_port(address)
    await server.start()
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.stream_stream("/b.B/Echo")()
        for _ in range(300):
            await call.write(b"x" * 40)
            await call.read()
        c0, s0, t0 = cpu(), switches(), time.perf_counter()
        for _ in range(calls):
            await call.write(b"x" * 40)
            await call.read()
        c1, s1, t1 = cpu(), switches(), time.perf_counter()
        await call.done_writing()
    await server.stop(None)
    print((c1 - c0) / calls * 1e6, (s1 - s0) / calls, (t1 - t0) / calls * 1e6)


uvloop.run(main())
"""


def one_run(side: str, calls: int, cpus: str, sock: Path) -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_EXPERIMENTS"}
    env["GRPC_VERBOSITY"] = "ERROR"
    if side == "polling":
        env["GRPC_EXPERIMENTS"] = POLLING
    argv = ["taskset", "-c", cpus, sys.executable, "-c", _CHILD, str(calls), str(sock)]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=True).stdout
    cpu, cs, wall = (float(x) for x in out.split())
    return cpu, cs, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="A B B A blocks (3)")
    parser.add_argument("--calls", type=int, default=3000, help="round trips measured per run (3000)")
    parser.add_argument("--cpus", default="0", help="taskset CPU list of each run (0)")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {"default": [], "polling": []}
    sock = Path(f"/tmp/grpc-polling-ab-{os.getpid()}.sock")
    for side in ["default", "polling", "polling", "default"] * args.rounds:
        r = one_run(side, args.calls, args.cpus, sock)
        results[side].append(r)
        line = f"{side:8} CPU {r[0]:6.1f} µs, {r[1]:5.2f} context switches, wall {r[2]:6.0f} µs per round trip"
        print(line, flush=True)
    for side, runs in results.items():
        cpu, cs, wall = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"median of {len(runs)}, {side}: CPU {cpu:.1f} µs, {cs:.2f} context switches, wall {wall:.0f} µs")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
