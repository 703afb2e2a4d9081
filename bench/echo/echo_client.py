"""Bench-only echo "runner" in Python (grpc.aio + uvloop, like the Python runner): answers every
frame of Pings with one frame of Pongs. Usage: python echo_client.py unix:/path/to/sock"""

from __future__ import annotations

import platform
import sys

import grpc
import uvloop

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core._proto.motia.runner.v1 import runner_pb2_grpc as pb_grpc


async def main(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        call = pb_grpc.RunnerServiceStub(channel).Connect()
        hello = pb.Hello(language="python", runtime_version=platform.python_version())
        await call.write(pb.RunnerFrame(messages=[pb.RunnerMessage(hello=hello)]))
        while True:
            frame = await call.read()
            if frame is grpc.aio.EOF:
                return
            pongs = [pb.RunnerMessage(pong=pb.Pong(nonce=m.ping.nonce)) for m in frame.messages]
            await call.write(pb.RunnerFrame(messages=pongs))


if __name__ == "__main__":
    try:
        uvloop.run(main(sys.argv[1]))
    except (grpc.aio.AioRpcError, KeyboardInterrupt):
        pass
