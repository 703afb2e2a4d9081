"""The transport limit: raw gRPC bidi ping-pong between a grpc.aio server laid out like the core
(uvloop, unix socket, RunnerService.Connect from the project's proto) and a tiny echo client in a
runner language (bench/echo/echo_client.{js,py,rb}): the client answers every CoreFrame of Pings
with one RunnerFrame of Pongs, and does nothing else.

Modes, each after a short warm-up:
  rtt        one Ping per frame, one frame in flight: the round-trip latency floor
  window16   one Ping per frame, 16 frames in flight: unbatched messages/s
  batch16x4  16 Pings per frame, 4 frames in flight: batched pings/s (how motia-core's writers coalesce)

Run as its own process: `python benchlib/grpc_pingpong.py --lang node|python|ruby`. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.loadgen import percentiles

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO = BENCH_DIR.parent
MODES = (("rtt", 1, 1), ("window16", 1, 16), ("batch16x4", 16, 4))


class Servicer(pb_grpc.RunnerServiceServicer):
    def __init__(self, warmup: float, duration: float) -> None:
        self.warmup = warmup
        self.duration = duration
        self.result: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def Connect(self, request_iterator: Any, context: Any) -> None:
        try:
            hello = await context.read()  # the client's first frame says who it is
            out: dict[str, Any] = {"client": hello.messages[0].hello.language if hello.messages else "?"}
            for name, batch, window in MODES:
                out[name] = await self.measure(context, batch, window)
            self.result.set_result(out)
        except Exception as exc:  # report, never hang the bench
            if not self.result.done():
                self.result.set_exception(exc)

    async def measure(self, context: Any, batch: int, window: int) -> dict[str, Any]:
        slots = asyncio.Semaphore(window)
        sent_at: dict[int, float] = {}
        latencies: list[float] = []
        counted = 0
        start = time.perf_counter()
        measure_from = start + self.warmup
        stop = measure_from + self.duration

        async def reader() -> None:
            nonlocal counted
            while sent_at:
                frame = await context.read()
                now = time.perf_counter()
                t0 = sent_at.pop(frame.messages[0].pong.nonce)
                if t0 >= measure_from:
                    latencies.append((now - t0) * 1e6)
                if measure_from <= now <= stop:
                    counted += len(frame.messages)
                slots.release()

        nonce = 1
        read_task: asyncio.Task[None] | None = None
        while time.perf_counter() < stop:
            await slots.acquire()
            frame = pb.CoreFrame(messages=[pb.CoreMessage(ping=pb.Ping(nonce=nonce + i)) for i in range(batch)])
            sent_at[nonce] = time.perf_counter()
            nonce += batch
            await context.write(frame)
            if read_task is None or read_task.done():
                if read_task is not None:
                    read_task.result()  # surface a reader failure
                read_task = asyncio.create_task(reader())
        if read_task is not None:
            await asyncio.wait_for(read_task, 10)
        pct, cdf = percentiles(latencies)
        return {
            "batch": batch,
            "window": window,
            "frames": len(latencies),
            "messages_per_s": counted / self.duration,
            "latency_us": pct,
            "cdf_us": cdf,
        }


def client_argv(lang: str, address: str, workdir: Path) -> list[str]:
    echo = BENCH_DIR / "echo"
    if lang == "node":
        return ["node", str(echo / "echo_client.js"), address]
    if lang == "python":
        return [sys.executable, str(echo / "echo_client.py"), address]
    if lang == "ruby":
        gen = workdir / "ruby_proto"
        gen.mkdir(parents=True, exist_ok=True)
        proto_dir = REPO / "proto"
        tool = shutil.which("grpc_tools_ruby_protoc")
        if tool:
            cmd = [tool, f"-I{proto_dir}", f"--ruby_out={gen}", f"--grpc_out={gen}"]
        else:
            cmd = [
                "protoc",
                f"-I{proto_dir}",
                f"--ruby_out={gen}",
                f"--grpc_out={gen}",
                "--plugin=protoc-gen-grpc=/usr/bin/grpc_ruby_plugin",
            ]
        subprocess.run([*cmd, str(proto_dir / "motia/runner/v1/runner.proto")], check=True, timeout=60)
        return ["ruby", "-I", str(gen), str(echo / "echo_client.rb"), address]
    raise SystemExit(f"unknown language {lang}")


async def run(lang: str, warmup: float, duration: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-grpc-"))
    os.chmod(workdir, 0o700)
    address = f"unix:{workdir / 'echo.sock'}"
    server = grpc.aio.server()
    servicer = Servicer(warmup, duration)
    pb_grpc.add_RunnerServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(address)
    await server.start()
    client = await asyncio.create_subprocess_exec(
        *client_argv(lang, address, workdir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        waited: asyncio.Future[Any] = asyncio.ensure_future(client.wait())
        result: asyncio.Future[Any] = servicer.result
        done, _ = await asyncio.wait({result, waited}, timeout=60, return_when="FIRST_COMPLETED")
        if servicer.result not in done:
            err = (await client.stderr.read()).decode(errors="replace") if client.stderr and waited in done else ""
            raise RuntimeError(f"{lang} echo client ended before the measurement: {err.strip()[-500:]}")
        return servicer.result.result()
    finally:
        await server.stop(0.5)
        if client.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(client.pid, 15)
            try:
                await asyncio.wait_for(client.wait(), 3)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(client.pid, 9)
                await client.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--lang", required=True, choices=("node", "python", "ruby"))
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--duration", type=float, default=1.5)
    args = p.parse_args()
    import uvloop

    print(json.dumps(uvloop.run(run(args.lang, args.warmup, args.duration))))


if __name__ == "__main__":
    main()
