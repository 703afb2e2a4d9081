"""Closed-loop load over whole event chains (run as its own process, pinned like wrk).

K virtual users each: POST {id, ruby} to the entry API step, wait until the last step(s) report
the id on this process's UDP sink, record the end-to-end time, start the next one. Throughput is
K / mean end-to-end time (Little's law for a closed loop); the count of chains completed inside
the window is kept as a cross-check. `--min-samples N` keeps the users going past the window until N
chains started after the warm-up have completed (at most `--max-duration` seconds after the warm-up):
a system whose one chain takes longer than the window (classic Motia at k16) is measured on whole
steady-state cycles rather than on none; the window actually measured is reported. `--expect 10`
waits for ten reports (fan-out). A chain not reported within --timeout counts as lost. Several
`--port`s (instances of one system sharing a queue) share the K users round robin: user i posts to
port i mod n, and a chain may be reported by whichever instance ran its last hop.

HTTP is a minimal keep-alive HTTP/1.1 client (Content-Length responses), cheaper than a general
client, so the driver takes little CPU from the system under test. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.loadgen import percentiles


class Sink(asyncio.DatagramProtocol):
    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.counts: dict[int, int] = {}
        self.reports = 0
        self.times: list[float] = []  # when each report arrived, whoever still waited for it

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.reports += 1
        self.times.append(time.perf_counter())
        try:
            ident = int(data.split(b":", 1)[1])
        except (IndexError, ValueError):
            return
        n = self.counts.get(ident, 0) + 1
        self.counts[ident] = n
        if n >= self.expect:
            fut = self.waiting.pop(ident, None)
            self.counts.pop(ident, None)
            if fut is not None and not fut.done():
                fut.set_result(time.perf_counter())


class Client:
    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        closing = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            lname = name.strip().lower()
            if lname == "content-length":
                length = int(value.strip())
            elif lname == "transfer-encoding" and "chunked" in value.lower():
                raise RuntimeError("chunked responses are not supported by this driver")
            elif lname == "connection" and value.strip().lower() == "close":
                closing = True
        if length:
            await self.reader.readexactly(length)
        if closing:
            self.writer.close()
            self.reader = self.writer = None
        return status


async def drive(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", args.sink_port))
    transport, sink = await loop.create_datagram_endpoint(lambda: Sink(args.expect), sock=sock)
    start = time.perf_counter()
    measure_from = start + args.warmup
    end = measure_from + args.duration
    latencies: list[float] = []
    done_times: list[float] = []
    lost = api_errors = 0
    next_id = [args.first_id]
    hard_end = measure_from + max(args.duration, args.max_duration)
    stopped = [end]  # when the last user stopped starting chains (past `end` with --min-samples)
    measured_started = [0]  # chains started after the warm-up: each is a sample when it completes

    def keep_going() -> bool:
        # past the window, start only the chains still missing (a full wave in flight ends the run,
        # so no chain of the extension runs with fewer than k in flight but the stragglers' last)
        now = time.perf_counter()
        if now < end or (measured_started[0] < args.min_samples and now < hard_end):
            return True
        stopped[0] = max(stopped[0], now)
        return False

    # the id space of each run is disjoint so a late report of a previous run cannot match

    async def user(port: int) -> None:
        nonlocal lost, api_errors
        client = Client(args.host, port, args.path)
        while keep_going():
            ident = next_id[0]
            next_id[0] += 1
            fut: asyncio.Future[float] = loop.create_future()
            sink.waiting[ident] = fut
            body = json.dumps({"id": ident, "ruby": args.ruby}).encode()
            t0 = time.perf_counter()
            if t0 >= measure_from:
                measured_started[0] += 1
            try:
                status = await asyncio.wait_for(client.post(body), args.timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError):
                api_errors += 1
                sink.waiting.pop(ident, None)
                client = Client(args.host, port, args.path)
                await asyncio.sleep(0.05)
                continue
            if status >= 300:
                api_errors += 1
                sink.waiting.pop(ident, None)
                continue
            try:
                t1 = await asyncio.wait_for(fut, args.timeout)
            except TimeoutError:
                lost += 1
                sink.waiting.pop(ident, None)
                continue
            if t0 >= measure_from:
                latencies.append((t1 - t0) * 1e6)
            if t1 >= measure_from:
                done_times.append(t1)

    users = [asyncio.create_task(user(args.port[i % len(args.port)])) for i in range(args.concurrency)]
    await asyncio.wait(users, timeout=hard_end - start + args.timeout + 5)
    for u in users:
        u.cancel()
    transport.close()
    window = stopped[0] - measure_from
    completed = sum(1 for t in done_times if t <= stopped[0])
    # every report in the window, also of chains started in the warm-up or already given up as lost:
    # a completion rate that needs no chain to finish within --timeout (classic Motia at k16)
    in_window = sum(1 for t in sink.times if measure_from <= t <= stopped[0]) // args.expect
    pct, cdf = percentiles(latencies)
    mean_s = sum(latencies) / len(latencies) / 1e6 if latencies else 0.0
    return {
        "concurrency": args.concurrency,
        "ports": len(args.port),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "window_s": window,  # longer than duration_s when --min-samples extended it
        "min_samples": args.min_samples,
        "completed": completed,
        # a closed loop with no think time: throughput = users / mean cycle time (Little's law); exact
        # in steady state even when a cycle is longer than the measuring window (classic Motia)
        "per_s": args.concurrency / mean_s if mean_s else 0.0,
        "per_s_window": completed / window if window > 0 else 0.0,
        "reports_in_window": in_window,
        "per_s_reports": in_window / window if window > 0 else 0.0,
        "mean_us": mean_s * 1e6,
        "lost": lost,
        "api_errors": api_errors,
        "latency_us": pct,
        "cdf_us": cdf,
        "samples": len(latencies),
        "reports": sink.reports,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, nargs="+", required=True, help="one or more entry ports (round robin)")
    p.add_argument("--path", default="/chain")
    p.add_argument("--sink-port", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--expect", type=int, default=1)
    p.add_argument("--ruby", action="store_true")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--first-id", type=int, default=1)
    p.add_argument(
        "--min-samples", type=int, default=0, help="go past --duration until this many chains started after the warm-up"
    )
    p.add_argument("--max-duration", type=float, default=0.0, help="the longest measuring window --min-samples may use")
    args = p.parse_args()
    try:
        import uvloop

        result = uvloop.run(drive(args))
    except ImportError:
        result = asyncio.run(drive(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
