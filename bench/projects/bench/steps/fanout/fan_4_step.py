# Fan-out subscriber 4 (Python): reports "f:<id>" to the bench's UDP sink.
import os
import socket

_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

config = {"type": "event", "name": "Fan4Py", "subscribes": ["bench.fan"], "emits": [], "flows": ["bench-fanout"]}


async def handler(input, context):
    _sink.sendto(f"f:{input['id']}".encode(), ("127.0.0.1", int(os.environ["BENCH_SINK_PORT"])))
