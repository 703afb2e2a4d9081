"""Measure the Ruby runner against a throwaway core (grpc.aio, unix socket, same machine).

    .venv/bin/python runners/ruby/scripts/bench.py [--spawns 10] [--burst 200] [--rounds 5]

* start to Hello: from spawning `ruby bin/motia-ruby-runner` to the core receiving Hello (median
  of --spawns spawns);
* bursts of --burst concurrent invocations sent in one CoreFrame: an API step with one
  middleware, a state.set, a state.get, an emit and a log line each; wall time until the last
  InvocationResult, and how many RunnerFrames carried the runner's envelopes;
* the same burst of an event step that sleeps 50 ms (in its worker thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "core"))

import grpc  # noqa: E402
import grpc.aio  # noqa: E402

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb  # noqa: E402

RUNNER = ROOT / "runners" / "ruby" / "bin" / "motia-ruby-runner"

API_STEP = """
def stamp(req, ctx, next_fn)
  req["stamped"] = true
  next_fn.call
end

def config
  { "type" => "api", "name" => "BenchApi", "method" => "POST", "path" => "/b", "emits" => ["bench"],
    "middleware" => [method(:stamp)] }
end

def handler(req, ctx)
  ctx.state.set("bench", ctx.trace_id, { "n" => req.body.n })
  got = ctx.state.get("bench", ctx.trace_id)
  ctx.emit({ "topic" => "bench", "data" => got })
  ctx.logger.info("done", { "n" => req.body.n })
  { "status" => 200, "body" => { "n" => got["n"], "stamped" => req.stamped } }
end
"""

SLEEP_STEP = """
def config = { "type" => "event", "name" => "BenchSleep", "subscribes" => ["s"], "emits" => [] }
def handler(input, ctx) = sleep(0.05)
"""


class BenchCore:
    def __init__(self, socket: str, project: Path) -> None:
        self.socket = socket
        self.project = project
        self.out: asyncio.Queue[list[pb.CoreMessage]] = asyncio.Queue()
        self.hello_at: asyncio.Future[float] | None = None
        self.loaded: asyncio.Future[pb.StepsLoaded] | None = None
        self.results: dict[str, asyncio.Future[pb.InvocationResult]] = {}
        self.frames_in = 0
        self.envelopes_in = 0
        self.state: dict[tuple[str, str], bytes] = {}

    async def start(self) -> Any:
        server = grpc.aio.server()
        handler = grpc.stream_stream_rpc_method_handler(
            self.connect,
            request_deserializer=pb.RunnerFrame.FromString,
            response_serializer=pb.CoreFrame.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("motia.runner.v1.RunnerService", {"Connect": handler}),)
        )
        server.add_insecure_port(f"unix:{self.socket}")
        await server.start()
        return server

    async def connect(self, request_iterator: Any, context: Any) -> None:
        async def write() -> None:
            while True:
                await context.write(pb.CoreFrame(messages=await self.out.get()))

        writer = asyncio.ensure_future(write())
        try:
            while (frame := await context.read()) is not grpc.aio.EOF:
                self.frames_in += 1
                self.envelopes_in += len(frame.messages)
                replies: list[pb.CoreMessage] = []
                for message in frame.messages:
                    self.on_message(message, replies)
                if replies:
                    self.out.put_nowait(replies)
        finally:
            writer.cancel()

    def on_message(self, message: pb.RunnerMessage, replies: list[pb.CoreMessage]) -> None:
        kind = message.WhichOneof("kind")
        if kind == "hello":
            if self.hello_at is not None and not self.hello_at.done():
                self.hello_at.set_result(time.perf_counter())
            replies.append(pb.CoreMessage(welcome=pb.Welcome(protocol_version=1, max_message_bytes=64 << 20)))
        elif kind == "steps_loaded" and self.loaded is not None:
            self.loaded.set_result(message.steps_loaded)
        elif kind == "result":
            future = self.results.pop(message.result.invocation_id, None)
            if future is not None:
                future.set_result(message.result)
        elif kind == "call" and message.call.request_id:
            call = message.call
            value = b"null"
            if call.WhichOneof("op") == "state_set":
                self.state[(call.state_set.group_id, call.state_set.key)] = value = call.state_set.value_json
            elif call.WhichOneof("op") == "state_get":
                value = self.state.get((call.state_get.group_id, call.state_get.key), b"null")
            replies.append(pb.CoreMessage(call_reply=pb.CallReply(request_id=call.request_id, value_json=value)))

    async def spawn(self) -> tuple[asyncio.subprocess.Process, float]:
        loop = asyncio.get_running_loop()
        self.hello_at = loop.create_future()
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            "ruby",
            str(RUNNER),
            cwd=self.project,
            stdin=asyncio.subprocess.PIPE,
            env={
                **os.environ,
                "MOTIA_CORE_ADDRESS": f"unix:{self.socket}",
                "MOTIA_RUNNER_SECRET": "x",
                "MOTIA_PROJECT_DIR": str(self.project),
            },
        )
        hello = await asyncio.wait_for(self.hello_at, 30)
        return proc, (hello - started) * 1000

    async def burst(self, step_id: str, trigger: int, payloads: list[bytes]) -> tuple[float, int, int]:
        loop = asyncio.get_running_loop()
        frames0, envelopes0 = self.frames_in, self.envelopes_in
        batch = []
        futures = []
        for payload in payloads:
            iid = uuid.uuid4().hex
            future: asyncio.Future[pb.InvocationResult] = loop.create_future()
            self.results[iid] = future
            futures.append(future)
            batch.append(
                pb.CoreMessage(
                    start=pb.StartInvocation(
                        invocation_id=iid,
                        step_id=step_id,
                        fencing_token=1,
                        trace_id=uuid.uuid4().hex[:12],
                        trigger=trigger,  # type: ignore[arg-type]
                        payload_json=payload,
                    )
                )
            )
        started = time.perf_counter()
        self.out.put_nowait(batch)
        results = await asyncio.wait_for(asyncio.gather(*futures), 60)
        wall = (time.perf_counter() - started) * 1000
        bad = [r for r in results if r.WhichOneof("outcome") != "completed"]
        if bad:
            raise SystemExit(f"{len(bad)} invocations failed: {bad[0]}")
        return wall, self.frames_in - frames0, self.envelopes_in - envelopes0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spawns", type=int, default=10)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "steps").mkdir()
        (project / "steps" / "api_step.rb").write_text(API_STEP)
        (project / "steps" / "sleep_step.rb").write_text(SLEEP_STEP)
        core = BenchCore(str(project / "core.sock"), project)
        server = await core.start()
        times = []
        for _ in range(args.spawns):
            proc, ms = await core.spawn()
            times.append(ms)
            proc.kill()
            await proc.wait()
        print(
            f"start to Hello over {args.spawns} spawns: min {min(times):.0f} ms, "
            f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms"
        )

        proc, _ = await core.spawn()
        core.loaded = asyncio.get_running_loop().create_future()
        files = [
            pb.StepFile(step_id=f"steps/{n}", path=str(project / "steps" / n), relative_path=f"steps/{n}")
            for n in ("api_step.rb", "sleep_step.rb")
        ]
        core.out.put_nowait([pb.CoreMessage(load_steps=pb.LoadSteps(request_id=1, files=files))])
        loaded = await asyncio.wait_for(core.loaded, 10)
        assert not loaded.errors, loaded.errors
        api = [
            json.dumps({"body": {"n": n}, "headers": {}, "pathParams": {}, "queryParams": {}, "rawBody": ""}).encode()
            for n in range(args.burst)
        ]
        for label, step, trigger, payloads in (
            ("API step, 1 middleware + 3 calls + 1 log each", "steps/api_step.rb", pb.TRIGGER_API, api),
            ("event step sleeping 50 ms", "steps/sleep_step.rb", pb.TRIGGER_EVENT, [b"{}"] * args.burst),
        ):
            walls = []
            for _ in range(args.rounds):
                wall, frames, envelopes = await core.burst(step, trigger, payloads)
                walls.append(wall)
            print(
                f"{args.burst} concurrent invocations, {label}: median {statistics.median(walls):.0f} ms "
                f"(min {min(walls):.0f}, max {max(walls):.0f}) over {args.rounds} rounds; last round "
                f"{envelopes} runner envelopes in {frames} frames"
            )
        proc.kill()
        await proc.wait()
        await server.stop(0)


if __name__ == "__main__":
    asyncio.run(main())
