"""Streams load: N WebSocket clients joined to one group, writes through API steps (run as its own
process, pinned like wrk).

The driver connects `--clients` plain aiohttp WebSocket clients, each joins the group
(`{"type": "join", "data": {streamName, groupId, subscriptionId}}`) and waits for its sync. Then,
phase after phase (`--spec`, JSON), it POSTs `{groupId, id, seq, sentAt}` to an API step that does
`ctx.streams.<name>.set(groupId, id, {seq, sentAt})`, and every client records each create/update it
receives. `sentAt` is this process's monotonic clock in µs, read just before the request is written;
a client's receive time is read when its coroutine gets the frame (so it includes this process's
own queueing, shown as the driver's CPU). Phases:

* `closed`: `writers` virtual users, each sends its next write when the previous one is answered;
* `open`: write k is due at start + k/rate (`rate`, or `rate_of` × the slowest of the named closed
  phases' writes/s), sent on any free connection of up to 64; how late the sends were is reported.

Every connection writes its own item (`<phase>-w<n>`), so each item's writes are serialized and
every client must see them in order. After each phase the driver waits (`--drain`) until every client
has every acknowledged write; what is still missing at the end of the run is lost. The core's CPU and
RSS are sampled (benchlib.resources.Sampler) over each measured window. Writes one JSON document (to
`--out`, else stdout) and one progress line per phase on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import resources
from benchlib.chainload import Client
from benchlib.loadgen import percentiles

MAX_OPEN_CONNECTIONS = 64


def now_us() -> int:
    return time.perf_counter_ns() // 1000


class Subscriber:
    """One WebSocket client joined to the group: per seq how often it arrived, per item the last seq."""

    def __init__(self, index: int, ws: aiohttp.ClientWebSocketResponse, run: Run) -> None:
        self.index = index
        self.ws = ws
        self.run = run
        self.got = bytearray(1 << 16)  # got[seq]: times this seq arrived (saturates at 255)
        self.last: dict[str, int] = {}  # item id -> last seq seen
        self.out_of_order = 0
        self.synced = asyncio.Event()
        self.closed: str | None = None
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        run = self.run
        ws = self.ws
        try:
            while True:
                msg = await ws.receive()
                t = now_us()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                        self.closed = f"closed by the server (code {ws.close_code})"
                    elif msg.type is aiohttp.WSMsgType.ERROR:
                        self.closed = f"error: {ws.exception()}"
                    else:
                        continue
                    return
                doc = orjson.loads(msg.data)
                event = doc["event"]
                kind = event["type"]
                if kind == "create" or kind == "update":
                    data = event["data"]
                    seq = data["seq"]
                    got = self.got
                    if seq >= len(got):
                        got.extend(bytes(max(len(got), seq + 1 - len(got))))
                    if got[seq] < 255:
                        got[seq] += 1
                    item = data["id"]
                    if self.last.get(item, -1) >= seq:
                        self.out_of_order += 1
                    self.last[item] = seq
                    run.received += 1
                    if run.window_from <= t < run.window_to:
                        run.delivered_in_window += 1
                    if seq >= run.measured_from_seq:
                        run.latency.append(t - data["sentAt"])
                        run.last_recv[seq] = t
                elif kind == "sync":
                    self.synced.set()
                elif kind == "event":
                    self.closed = f"error event: {event.get('event')}"
                    self.synced.set()
        except (aiohttp.ClientError, ConnectionError) as exc:
            self.closed = f"{type(exc).__name__}: {exc}"


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.seq = 0
        self.received = 0  # create/update messages received by all clients
        self.expected = 0  # acknowledged writes × clients
        self.latency: list[int] = []  # µs, per (client, message) of the measured writes
        self.last_recv: dict[int, int] = {}  # seq -> when the last client got it
        self.measured_from_seq = 1 << 62  # the writes of the measured window start at this seq
        self.window_from = self.window_to = 0  # µs, for deliveries counted in the measured window
        self.delivered_in_window = 0
        self.subscribers: list[Subscriber] = []

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


async def connect(run: Run, session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    args = run.args
    t0 = time.perf_counter()

    async def one(i: int) -> Subscriber:
        ws = await session.ws_connect(url, autoping=True, max_msg_size=1 << 20)
        sub = Subscriber(i, ws, run)
        join = {"streamName": args.stream, "groupId": args.group, "subscriptionId": f"bench-{i}"}
        await ws.send_bytes(orjson.dumps({"type": "join", "data": join}))
        await asyncio.wait_for(sub.synced.wait(), 15)
        if sub.closed:
            raise RuntimeError(f"client {i} could not join: {sub.closed}")
        return sub

    run.subscribers = list(await asyncio.gather(*(one(i) for i in range(args.clients))))
    return {"clients": len(run.subscribers), "connect_and_join_s": time.perf_counter() - t0}


async def post(
    client: Client, run: Run, item: str, acked: list[tuple[int, int, bool]], http: list[float], end: float
) -> bool:
    """One write (measured if sent inside the window). Returns False on an HTTP error (the caller
    replaces the connection)."""
    seq = run.next_seq()
    sent_at = now_us()
    body = orjson.dumps({"groupId": run.args.group, "id": item, "seq": seq, "sentAt": sent_at})
    t0 = time.perf_counter()
    try:
        status = await asyncio.wait_for(client.post(body), run.args.timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError):
        return False
    t1 = time.perf_counter()
    if status >= 300:
        return False
    in_window = seq >= run.measured_from_seq and t0 < end
    acked.append((seq, sent_at, in_window))
    if in_window:
        http.append((t1 - t0) * 1e6)
    run.expected += len(run.subscribers)
    return True


async def closed_phase(run: Run, spec: dict[str, Any], end: float, out: dict[str, Any]) -> None:
    args = run.args
    acked: list[tuple[int, int, bool]] = out["_acked"]
    http: list[float] = out["_http"]
    errors = 0

    async def writer(w: int) -> None:
        nonlocal errors
        client = Client(args.host, args.port, spec["path"])
        item = f"{spec['name']}-w{w}".replace(" ", "-")
        while time.perf_counter() < end:
            if not await post(client, run, item, acked, http, end):
                errors += 1
                client = Client(args.host, args.port, spec["path"])
                await asyncio.sleep(0.05)

    await asyncio.gather(*(writer(w) for w in range(spec["writers"])))
    out["api_errors"] = errors


async def open_phase(
    run: Run, spec: dict[str, Any], rate: float, start: float, end: float, out: dict[str, Any]
) -> None:
    args = run.args
    acked: list[tuple[int, int, bool]] = out["_acked"]
    http: list[float] = out["_http"]
    idle: list[tuple[int, Client]] = []
    made = 0
    freed = asyncio.Event()
    lags: list[float] = []
    errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def send(index: int, client: Client) -> None:
        nonlocal errors
        ok = await post(client, run, f"{spec['name']}-w{index}".replace(" ", "-"), acked, http, end)
        if not ok:
            errors += 1
            client = Client(args.host, args.port, spec["path"])
        idle.append((index, client))
        freed.set()

    k = 0
    while True:
        due = start + k / rate
        if due >= end:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        while not idle and made >= MAX_OPEN_CONNECTIONS:
            freed.clear()
            await freed.wait()
        if idle:
            index, client = idle.pop()
        else:
            index, client = made, Client(args.host, args.port, spec["path"])
            made += 1
        lags.append((time.perf_counter() - due) * 1e6)
        t = asyncio.create_task(send(index, client))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        k += 1
    if tasks:
        await asyncio.wait(tasks, timeout=args.timeout + 1)
    lag_pct, _ = percentiles(lags)
    out.update(
        api_errors=errors,
        rate_target=rate,
        scheduled=k,
        connections_used=made,
        send_lag_us=lag_pct,
        send_lag_max_us=max(lags) if lags else 0.0,
    )


async def run_phase(run: Run, spec: dict[str, Any], rate: float | None, core_pid: int | None) -> dict[str, Any]:
    args = run.args
    out: dict[str, Any] = {
        "name": spec["name"],
        "lang": spec.get("lang"),
        "mode": spec["mode"],
        "_acked": [],
        "_http": [],
    }
    if spec["mode"] == "closed":
        out["writers"] = spec["writers"]
    warm, dur = float(spec.get("warmup", 0.5)), float(spec["duration"])
    start = time.perf_counter()
    end = start + warm + dur  # writers stop here; the measured window runs from the warm-up's end to here
    run.latency = []
    run.last_recv = {}
    run.measured_from_seq = 1 << 62
    run.delivered_in_window = 0
    run.window_from = run.window_to = int(end * 1e6)
    seq_before = run.seq

    async def measure() -> dict[str, Any]:
        await asyncio.sleep(max(0.0, start + warm - time.perf_counter()))
        me = psutil.Process()
        cpu0 = sum(me.cpu_times()[:2])
        sampler = resources.Sampler(core_pid) if core_pid else None
        if sampler:
            sampler.__enter__()
        t0 = time.perf_counter()
        run.measured_from_seq = run.seq + 1
        run.window_from = int(t0 * 1e6)
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        t1 = time.perf_counter()
        if sampler:
            sampler.__exit__(None, None, None)
        cpu1 = sum(me.cpu_times()[:2])
        res: dict[str, Any] = {
            "measured_s": end - t0,
            "driver_cpu_pct": 100.0 * (cpu1 - cpu0) / max(1e-9, t1 - t0),
        }
        if sampler:
            res["resources"] = sampler.result()
            # how busy the driver's own CPU(s) were: above the driver's share, something else ran there too
            mine = [str(c) for c in sorted(os.sched_getaffinity(0))]
            busy = res["resources"]["cpu_busy_pct"]
            res["driver_cpus_busy_pct"] = sum(busy.get(c, 0.0) for c in mine) / len(mine)
        return res

    measuring = asyncio.create_task(measure())
    if spec["mode"] == "closed":
        await closed_phase(run, spec, end, out)
    else:
        assert rate is not None
        await open_phase(run, spec, rate, start, end, out)
    out.update(await measuring)
    # drain: every acknowledged write reaches every client (or the drain times out)
    t_end = time.perf_counter()
    while run.received < run.expected and time.perf_counter() - t_end < args.drain:
        if all(s.closed for s in run.subscribers):
            break
        await asyncio.sleep(0.01)
    out["drain_s"] = time.perf_counter() - t_end
    acked: list[tuple[int, int, bool]] = out.pop("_acked")
    http: list[float] = out.pop("_http")
    in_window = [a for a in acked if a[2]]
    n_clients = len(run.subscribers)
    lat_pct, lat_cdf = percentiles(run.latency)
    # the time until the last client had a write (all clients got it)
    sent = {seq: sent_at for seq, sent_at, w in acked if w}
    all_lat = [run.last_recv[s] - sent[s] for s in sent if s in run.last_recv]
    all_pct, _ = percentiles(all_lat)
    http_pct, _ = percentiles(http)
    secs = max(1e-9, out.pop("measured_s"))
    out.update(
        duration_s=secs,
        warmup_s=warm,
        seq_range=[seq_before + 1, run.seq],
        writes_acked=len(acked),
        writes_in_window=len(in_window),
        writes_per_s=len(in_window) / secs,
        delivered_in_window=run.delivered_in_window,
        delivered_per_s=run.delivered_in_window / secs,
        delivered_per_s_per_client=run.delivered_in_window / secs / max(1, n_clients),
        latency_us=lat_pct,
        cdf_us=lat_cdf,
        samples=len(run.latency),
        latency_all_clients_us=all_pct,
        http_latency_us=http_pct,
        _acked_seqs=[a[0] for a in acked],
    )
    if spec["mode"] == "open":
        out["achieved_of_target"] = out["writes_per_s"] / out["rate_target"] if out["rate_target"] else 0.0
    return out


def account(run: Run, phase: dict[str, Any]) -> None:
    """Lost, duplicated and reordered messages of one phase, counted at the very end of the run."""
    seqs: list[int] = phase.pop("_acked_seqs")
    lost = dup = 0
    per_client_lost: list[int] = []
    for sub in run.subscribers:
        got = sub.got
        n = len(got)
        missing = sum(1 for s in seqs if s >= n or got[s] == 0)
        dup += sum(got[s] - 1 for s in seqs if s < n and got[s] > 1)
        per_client_lost.append(missing)
        lost += missing
    phase["expected"] = len(seqs) * len(run.subscribers)
    phase["lost"] = lost
    phase["duplicates"] = dup
    phase["clients_missing_some"] = sum(1 for x in per_client_lost if x)


async def drive(args: argparse.Namespace) -> dict[str, Any]:
    spec = json.loads(args.spec)
    run = Run(args)
    url = f"ws://{args.host}:{args.port}/"
    connector = aiohttp.TCPConnector(limit=0)
    result: dict[str, Any] = {"group": args.group, "stream": args.stream, "phases": []}
    async with aiohttp.ClientSession(connector=connector) as session:
        result.update(await connect(run, session, url))
        if args.core_pid:
            await asyncio.sleep(0.3)
            result["core_idle_with_clients"] = resources.snapshot(args.core_pid)
        done: dict[str, dict[str, Any]] = {}
        for ph in spec["phases"]:
            rate = None
            if ph["mode"] == "open":
                if "rate" in ph:
                    rate = float(ph["rate"])
                else:
                    base = [done[n]["writes_per_s"] for n in ph["rate_of"] if n in done and done[n]["writes_per_s"]]
                    if not base:
                        result.setdefault("skipped", []).append({"phase": ph["name"], "why": "no closed-loop rate"})
                        continue
                    step = float(ph.get("round_to", 10))
                    rate = max(step, (ph["fraction"] * min(base)) // step * step)
            out = await run_phase(run, ph, rate, args.core_pid)
            done[ph["name"]] = out
            result["phases"].append(out)
            line = {k: out.get(k) for k in ("name", "rate_target", "writes_per_s", "delivered_per_s", "latency_us")}
            line["missing"] = run.expected - run.received  # still missing after the drain
            line["driver_cpu_pct"] = out["driver_cpu_pct"]
            core = out.get("resources", {}).get("by_role", {}).get("core")
            if core:
                line["core_cpu_pct"] = core["cpu_pct"]
            print(json.dumps({"progress": line}), file=sys.stderr, flush=True)
        result["closed_clients"] = [{"client": s.index, "why": s.closed} for s in run.subscribers if s.closed]
        for ph in result["phases"]:
            account(run, ph)
        result["out_of_order"] = sum(s.out_of_order for s in run.subscribers)
        result["received_total"] = run.received
        for s in run.subscribers:
            await s.ws.close()
            s.task.cancel()
    return result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--stream", default="ticks")
    p.add_argument("--group", default="bench")
    p.add_argument("--core-pid", type=int, default=0, help="sample this process tree's CPU and RSS per phase")
    p.add_argument("--drain", type=float, default=5.0, help="seconds to wait for the last deliveries of a phase")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--spec", required=True, help='JSON: {"phases": [{name, lang, path, mode, ...}]}')
    p.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    args = p.parse_args()
    try:
        import uvloop

        result = uvloop.run(drive(args))
    except ImportError:
        result = asyncio.run(drive(args))
    text = json.dumps(result)
    if args.out:
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
