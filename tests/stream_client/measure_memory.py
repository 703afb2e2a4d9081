"""Memory of the core with many idle stream clients and one stalled client under ~1,000 updates/s.

Not a test (nothing is asserted): run it by hand and read the numbers.

    .venv/bin/python tests/stream_client/measure_memory.py [--idle 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import CoreProcess  # noqa: E402
from tests.stream_client.harness import WsClient  # noqa: E402
from tests.test_streams_slow import RawClient  # noqa: E402


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


async def main(idle: int, seconds: float, pad: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="motia-streams-mem-"))
    project = workdir / "streams"
    shutil.copytree(ROOT / "tests/fixtures/streams", project)
    core = CoreProcess(project)
    clients: list[WsClient] = []
    try:
        core.wait_ready()
        pid = core.proc.pid
        print(f"core started:                       {rss_mb(pid):7.1f} MiB")
        for n in range(idle):
            client = await WsClient.connect(core.url)
            await client.join_synced("messages", f"idle-{n}")
            clients.append(client)
        await asyncio.sleep(1)
        print(f"{idle} idle clients connected:        {rss_mb(pid):7.1f} MiB")
        watcher = clients[0] if clients else await WsClient.connect(core.url)
        await watcher.join_synced("todo", "hot", "x")
        stalled = await asyncio.to_thread(RawClient, core.port)
        join = {"streamName": "todo", "groupId": "hot", "subscriptionId": "s"}
        stalled.send_text(json.dumps({"type": "join", "data": join}))
        await asyncio.to_thread(stalled.frame)  # its sync; then it reads nothing
        body = {"stream": "todo", "op": "sequence", "groupId": "hot", "id": "x", "count": 10**7}
        body.update(pad=pad, interval=1)  # ~700 updates/s per driver
        async with aiohttp.ClientSession() as session:
            drivers = [asyncio.create_task(session.post(f"{core.url}/ts/streams", json=body)) for _ in range(2)]
            start, last = time.monotonic(), 0
            samples: list[float] = []
            while time.monotonic() - start < seconds:
                await asyncio.sleep(2)
                received = len(watcher.messages)
                rate = (received - last) / 2
                last = received
                samples.append(rss_mb(pid))
                dropped = core.find_logs(lambda d: "fell behind" in d.get("msg", ""))
                print(
                    f"t={time.monotonic() - start:4.0f}s  {rate:6.0f} updates/s to a live client  "
                    f"core {samples[-1]:7.1f} MiB  stalled client dropped: {bool(dropped)}"
                )
            for task in drivers:
                task.cancel()
        print(f"rss min/max over the run:           {min(samples):7.1f} / {max(samples):7.1f} MiB")
        stalled.sock.close()
    finally:
        for client in clients:
            await client.close()
        core.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pad", type=int, default=200, help="bytes of filler per update")
    args = parser.parse_args()
    asyncio.run(main(args.idle, args.seconds, args.pad))
