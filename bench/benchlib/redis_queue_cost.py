"""CPU per chain of the Redis queue alone (issue 15): one process drives core/motia_core's RedisQueue
through a three-hop chain (subscriptions a -> b -> c, each consumer enqueues the next hop and acks;
`--k` chains in flight, concurrency 64 per subscription) on a redis-server of its own, and reports
its own CPU time (process_time) per finished chain: no HTTP, no runners, no gRPC, no traces, so the
figure moves only with the queue's client-side work (scripts, reads, batching, packing).

    .venv/bin/python bench/benchlib/redis_queue_cost.py                     # this checkout
    .venv/bin/python bench/benchlib/redis_queue_cost.py --tree /tmp/A --tree /tmp/B --rounds 3

Each `--tree` is a directory holding a `core/motia_core` to import (a copy of another revision):
with two trees the runs go A B, B A, A B... (ABBA), each in a fresh process pinned to `--cpu`
(redis-server on `--redis-cpu`), and the median of each tree's runs is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]


async def _chain(url: str, chains: int, k: int, tag: str) -> dict[str, float]:
    from motia_core import redis_conn
    from motia_core.logs import Logger
    from motia_core.queue.base import Delivery, Fate, QueuedEvent
    from motia_core.queue.redis import RedisQueue

    client = redis_conn.connect(url)
    await redis_conn.check(client, url)
    queue = RedisQueue(client, f"qcost-{tag}", Logger())
    following = {"a": "b", "b": "c"}
    done, started = 0, 0
    finished = asyncio.Event()

    def event(topic: str) -> QueuedEvent:
        return QueuedEvent(topic=topic, data_json=b'{"id":1}', trace_id="T")

    def consumer(sub: str):  # type: ignore[no-untyped-def]
        async def consume(_: QueuedEvent) -> Delivery:
            nonlocal done, started
            if sub in following:
                await queue.enqueue(following[sub], event(following[sub]))
            else:
                done += 1
                if done >= chains:
                    finished.set()
                elif started < chains:
                    started += 1
                    await queue.enqueue("a", event("a"))
            return Delivery(Fate.ACK)

        return consume

    for sub in "abc":
        queue.subscribe(sub, consumer(sub), concurrency=64)
    await queue.start()
    await asyncio.sleep(0.5)  # the pumps made their groups and wait in their reads
    cpu0, wall0 = time.process_time(), time.perf_counter()
    started = k
    for _ in range(k):
        await queue.enqueue("a", event("a"))
    await finished.wait()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await queue.close()
    await client.aclose()
    return {"cpu_us_per_chain": cpu / chains * 1e6, "chains_per_s": chains / wall}


def _run(tree: Path, url: str, chains: int, k: int, tag: str, cpu: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "core"))
    cmd = ["taskset", "-c", cpu, sys.executable, __file__, "--child", url, "--chains", str(chains), "--k", str(k)]
    out = subprocess.run([*cmd, "--tag", tag], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{tree}: {out.stderr.strip()[-800:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", action="append", type=Path, help="a directory with core/motia_core (repeat: A/B)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--chains", type=int, default=1000, help="chains per run")
    p.add_argument("--k", type=int, default=16, help="chains in flight")
    p.add_argument("--cpu", default="0", help="CPU of the measured process")
    p.add_argument("--redis-cpu", default="1", help="CPU of redis-server")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--tag", default="x", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        try:
            import uvloop

            result = uvloop.run(_chain(args.child, args.chains, args.k, args.tag))
        except ImportError:
            result = asyncio.run(_chain(args.child, args.chains, args.k, args.tag))
        print(json.dumps(result))
        return
    trees = args.tree or [REPO]
    with tempfile.TemporaryDirectory(prefix="redis-queue-cost-") as work:
        server = RedisServer(Path(work) / "data", Path(work) / "redis.log", cpus=args.redis_cpu).start()
        runs: dict[str, list[float]] = {str(t): [] for t in trees}
        try:
            for r in range(args.rounds):
                for i, tree in enumerate(trees if r % 2 == 0 else trees[::-1]):
                    res = _run(tree, server.url, args.chains, args.k, f"{r}-{i}", args.cpu)
                    runs[str(tree)].append(res["cpu_us_per_chain"])
                    line = f"round {r + 1} {tree}: {res['cpu_us_per_chain']:,.0f} µs CPU per chain"
                    print(line + f", {res['chains_per_s']:,.0f} chains/s", flush=True)
        finally:
            server.stop()
    for tree, values in runs.items():
        print(f"median {tree}: {statistics.median(values):,.0f} µs CPU per chain ({len(values)} runs)")


if __name__ == "__main__":
    main()
