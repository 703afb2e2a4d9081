"""results.json -> derived ratios and targets -> report.md and PNG charts.

Re-render a finished run: `python bench/benchlib/report.py bench/results/<stamp>/results.json`.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.report_bodies import render_bodies
from benchlib.report_chain import render_chain
from benchlib.report_charts import charts
from benchlib.report_classic import classic_rate
from benchlib.report_floor import render_floor
from benchlib.report_format import CLASSIC_NAMES, LANGS, NAMES, P, cpu_us, median_run, ms, num, pct, ratio, table
from benchlib.report_record import render_record
from benchlib.report_redis import render_redis
from benchlib.report_scale import render_scale, scale_charts
from benchlib.report_sections import render_classic, render_profile, render_resources, render_streams
from benchlib.report_session import render_session
from benchlib.report_startup import render_cold_phases, warmup_note
from benchlib.report_targets import targets

COMMAND = "make bench"


# -- analysis --------------------------------------------------------------------------------------


def analyze(res: dict[str, Any]) -> None:
    api = res.get("api", {})
    summary: dict[str, Any] = {}
    bare = api.get("bare", {})
    for name, by_c in api.items():
        for c, runs in by_c.items():
            if not runs:
                continue
            m = median_run(runs)
            entry: dict[str, Any] = {
                "rps": m["rps"],
                "latency_us": m["latency_us"],
                "rounds": len(runs),
                "rps_all": [r["rps"] for r in runs],
                "errors": sum(r["errors"] for r in runs),
            }
            entry["cpu_us"] = cpu_us(m)
            entry["foreign_pct"] = m.get("resources", {}).get("foreign_pct_on_server_cpus")
            if name != "bare" and bare.get(c):
                pairs = list(zip(runs, bare[c], strict=False))
                entry["of_bare"] = statistics.median(a["rps"] / b["rps"] for a, b in pairs if b["rps"])
                per_cpu = [cb / ca for a, b in pairs if (ca := cpu_us(a)) and (cb := cpu_us(b))]
                if per_cpu:
                    entry["of_bare_cpu"] = statistics.median(per_cpu)
                entry["added_us"] = {
                    p: statistics.median(a["latency_us"][p] - b["latency_us"][p] for a, b in pairs) for p in P
                }
            classic = res.get("classic", {}).get("api", {}).get(name, {}).get(c)
            if classic and classic["rps"]:
                entry["x_classic"] = m["rps"] / classic_rate(classic)[0]
            summary.setdefault(name, {})[c] = entry
    res["summary"] = {"api": summary}
    res["targets"] = targets(res)


# -- markdown --------------------------------------------------------------------------------------


def render(res: dict[str, Any], charts: list[str]) -> str:
    m = res["meta"]
    s = res["summary"]["api"]
    out: list[str] = []
    w = out.append
    only = m.get("only")
    scope = f", only: {', '.join(only)}" if only else ""
    w(f"# motia-core benchmark ({m['mode']} run{scope}, {m['date']})\n")
    how = COMMAND if m["mode"] == "full" else "make bench-quick"
    if only:
        how = (
            "make install bench-system-deps"
            + (" bench-bullmq" if "redis" in only else "")
            + " && .venv/bin/python bench/run.py "
            + ("--quick " if m["mode"] == "quick" else "")
            + "--only "
            + " ".join(only)
        )
    w(
        f"Reproduce with `{how}` (`make bench` installs wrk, redis-server, "
        "matplotlib and classic Motia as needed). Every ratio below compares runs made in this same run, "
        "back to back; absolute numbers move with the machine's load, ratios much less.\n"
    )
    load = ", ".join(f"{x:.2f}" for x in m["loadavg_start"])
    if m.get("loadavg_end"):
        load += ", at end " + ", ".join(f"{x:.2f}" for x in m["loadavg_end"])
    w(
        f"* Machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}; Python {m['python']}, Node {m['node']}, "
        f"{m['ruby'].split(' (')[0]}; {m['wrk']}; load average at start {load}."
    )
    w(f"* motia-core {m['motia_core_rev']}; classic Motia = npm `motia@{m['classic_version']}` (`motia start`).")
    w(f"* Layout: {m['layout']}.")
    q = m["queue"]
    w(f"* Event queue measured: **{q['description']}** (`{q['class']}`, as `motia-core serve` wires it).")
    w(f"* Run took {res.get('elapsed_s', 0):.0f} s.\n")

    tg = res.get("targets", [])
    if tg:
        w("## Targets\n")
        mark = {"met": "✅ met", "missed": "❌ missed"}
        w(
            table(
                ["target", "status", "measured (same run)", "why missed: floor or budget (same run)"],
                [[t["target"], mark.get(t["status"], t["status"]), t["measured"], t.get("why", "")] for t in tg],
            )
        )
        w("")

    # API
    if s:
        rounds = max((e.get("rounds", 1) for v in s.values() for e in v.values()), default=1)
        w("## API step, no-op (closed loop, wrk)\n")
        w(
            '`GET /noop/<lang>` answers `{"ok": true}` from a step in that language; the limit is the same '
            "response from a bare aiohttp handler in a process launched the same way. c = wrk connections "
            "(closed loop: each sends its next request when the answer arrives). "
            + (
                f"c1 and c16 are the median of {rounds} interleaved rounds (bare, then each language, repeated); "
                "a share of bare or an added latency is the median of the per-round values.\n"
                if rounds > 1
                else "\n"
            )
        )
        classic_api = res.get("classic", {}).get("api", {})
        rows: list[list[str]] = []
        for c in ("1", "16", "64"):
            for name in ("bare", "ts", "js", "py", "rb", "go"):
                e = s.get(name, {}).get(c)
                if not e:
                    continue
                lat = e["latency_us"]
                rows.append(
                    [
                        f"c{c}",
                        NAMES[name],
                        num(e["rps"]),
                        *[ms(lat[p]) for p in P],
                        pct(e.get("of_bare")) if name != "bare" else "100 %",
                        ("–" if c == "1" else pct(e.get("of_bare_cpu"))) if name != "bare" else "100 %",
                        ms(e.get("cpu_us")),
                        ratio(e.get("x_classic")),
                        "–" if e.get("foreign_pct") is None else f"{e['foreign_pct']:.0f} %",
                    ]
                )
            for name in ("ts", "py"):
                e = classic_api.get(name, {}).get(c)
                if e and e.get("requests"):
                    lat = e["latency_us"]
                    rate, how = classic_rate(e)
                    rows.append(
                        [
                            f"c{c}",
                            CLASSIC_NAMES[name],
                            num(rate, 1),
                            *[ms(lat[p]) for p in P],
                            "",
                            "",
                            "",
                            f"({how})",
                            "",
                        ]
                    )
        w(
            table(
                [
                    "c",
                    "system",
                    "req/s",
                    "p50",
                    "p90",
                    "p99",
                    "p99.9",
                    "of bare",
                    "of bare per CPU",
                    "CPU / request",
                    "× classic Motia",
                    "other load",
                ],
                rows,
            )
        )
        w(
            "\n*of bare per CPU* (saturated runs only): bare's CPU time per request divided by motia-core's "
            "(core + runner), the throughput share motia-core would reach with the same CPU, whatever else the "
            "machine was doing. "
            "*other load*: CPU time other processes took on the server's CPU during that run (from /proc/stat "
            "minus the server's own processes): the noise this shared machine added."
        )
        errs = [f"{NAMES[n]} c{c}: {e['errors']}" for n, v in s.items() for c, e in v.items() if e.get("errors")]
        if errs:
            w("\nErrors (non-2xx, timeouts, socket errors): " + "; ".join(errs) + ".")
        w("")
        w("### Added latency: motia-core minus bare aiohttp, per percentile\n")
        rows = []
        for c in ("1", "16", "64"):
            for name in ("ts", "js", "py", "rb", "go"):
                e = s.get(name, {}).get(c)
                if e and e.get("added_us"):
                    rows.append(
                        [
                            f"c{c}",
                            NAMES[name],
                            *[("+" if e["added_us"][p] >= 0 else "") + ms(e["added_us"][p]) for p in P],
                        ]
                    )
        w(table(["c", "step", "Δ p50", "Δ p90", "Δ p99", "Δ p99.9"], rows))
        w("")
    shared = res.get("api_shared_c16")
    if shared and "bare" in shared:
        w("### c16 with the servers allowed on both CPUs\n")
        w(
            "Same servers, re-pinned to both CPUs for one run each (wrk stays on its CPU, so it competes with "
            "them): what motia-core gains from running the core and a runner in parallel.\n"
        )
        b = shared["bare"]["rps"]
        w(
            table(
                ["system", "req/s", "p50", "p99", "of bare"],
                [
                    [
                        NAMES[n],
                        num(r["rps"]),
                        ms(r["latency_us"]["p50"]),
                        ms(r["latency_us"]["p99"]),
                        pct(r["rps"] / b) if n != "bare" else "100 %",
                    ]
                    for n, r in shared.items()
                ],
            )
        )
        w("")
    render_session(res, w)
    render_record(res, w)
    ol = res.get("open_loop")
    if ol and ol.get("runs"):
        w(f"## Open loop at a fixed rate: {num(ol['rate'])} req/s\n")
        w(
            "wrk with a Lua schedule: request k is sent at start + k/rate on any free connection of 64, whatever "
            "the response times (half the slowest language's c16 capacity, the same rate for every system). "
            "Connection lag = the worst wait of a slot for a free connection (the server fell behind); send lag = "
            "how far the requests written fell behind the schedule, for any reason (a busy load generator "
            "too). A run below 99 % is repeated once and both attempts are shown.\n"
        )
        rows = []
        for n, r in ol["runs"].items():
            first = r.get("first_attempt")
            note = "ok" if r["rps"] >= 0.99 * ol["rate"] else "below 99 %"
            if first:
                note += (
                    f" (2nd attempt; 1st: {100 * first['rps'] / ol['rate']:.1f} %, connection lag "
                    f"{first['maxlag_ms']:.0f} ms, send lag {first.get('sendlag_ms', 0):.0f} ms)"
                )
            rows.append(
                [
                    NAMES[n],
                    num(ol["rate"]),
                    num(r["rps"]),
                    f"{100 * r['rps'] / ol['rate']:.1f} %",
                    *[ms(r["latency_us"][p]) for p in P],
                    f"{r['maxlag_ms']:.1f} ms",
                    f"{r.get('sendlag_ms', 0):.1f} ms",
                    note,
                ]
            )
        w(
            table(
                [
                    "system",
                    "target",
                    "achieved",
                    "of target",
                    "p50",
                    "p90",
                    "p99",
                    "p99.9",
                    "connection lag",
                    "send lag",
                    "",
                ],
                rows,
            )
        )
        w("")
    g = res.get("grpc")
    if g:
        w("## The transport limit: raw gRPC bidi ping-pong\n")
        w(
            "A grpc.aio server laid out like the core (uvloop, unix socket, the project's RunnerService) against "
            "a tiny echo client per runner language (bench/echo/): no steps, no JSON, nothing but frames. "
            "`rtt` = one Ping per frame, one in flight; `×16` = one per frame, 16 frames in flight; "
            "`batched` = 16 Pings per frame, 4 frames in flight.\n"
        )
        rows = []
        for lang, r in g.items():
            lat = r["rtt"]["latency_us"]
            rows.append(
                [
                    lang,
                    *[ms(lat[p]) for p in P],
                    num(r["rtt"]["messages_per_s"]),
                    num(r["window16"]["messages_per_s"]),
                    num(r["batch16x4"]["messages_per_s"]),
                ]
            )
        w(
            table(
                [
                    "runner language",
                    "rtt p50",
                    "rtt p90",
                    "rtt p99",
                    "rtt p99.9",
                    "round trips/s",
                    "msgs/s ×16 unbatched",
                    "pings/s batched",
                ],
                rows,
            )
        )
        c1 = {k: v.get("1", {}).get("added_us", {}).get("p50") for k, v in s.items()}
        rtt = {"ts": g.get("node"), "js": g.get("node"), "py": g.get("python"), "rb": g.get("ruby")}
        parts = [
            f"{LANGS[k]} +{ms(c1[k])} vs rtt {ms(rtt[k]['rtt']['latency_us']['p50'])}"
            for k in ("ts", "py", "rb")
            if c1.get(k) is not None and rtt.get(k)
        ]
        if parts:
            w(
                "\nmotia-core's added p50 at c1 against the bare round trip of the same runner language: "
                + "; ".join(parts)
                + ". The difference is the step machinery on both sides (payload assembly, "
                "trace, dispatch layers, the runner's handler call and result encoding)."
            )
        w("")
    render_chain(res, w, m["queue"]["description"])
    fan = res.get("fanout")
    if fan:
        w("## Fan-out: one event, ten subscribers (4 TS, 3 Python, 3 JS)\n")
        w("`POST /fanout` emits one event; done when all ten subscribers reported.\n")
        w(
            table(
                ["k", "fan-outs/s", "deliveries/s", "e2e p50", "p90", "p99", "p99.9", "lost"],
                [
                    [k, num(r["per_s"]), num(r["per_s"] * 10), *[ms(r["latency_us"].get(p)) for p in P], str(r["lost"])]
                    for k, r in fan.items()
                ],
            )
        )
        w("")
    render_redis(res, w)
    render_streams(res, w)
    pay = res.get("payload")
    if pay:
        w("## Payload sizes through an API step (c16)\n")
        w(
            "`POST /echo/<lang>` with a JSON body of the given size; the step returns the body, so it crosses the "
            "core and the runner both ways. Bare: the same endpoint parsing and re-encoding the body.\n"
        )
        rows = []
        for label in ("1 KB", "100 KB", "1 MB"):
            b = pay.get("bare", {}).get(label)
            for name in ("bare", "ts", "py", "rb"):
                r = pay.get(name, {}).get(label)
                if not r:
                    continue
                rows.append(
                    [
                        label,
                        NAMES[name],
                        num(r["rps"]),
                        f"{r['rps'] * r['body_bytes'] * 2 / 1e6:,.0f} MB/s",
                        *[ms(r["latency_us"][p]) for p in P],
                        pct(r["rps"] / b["rps"]) if b and name != "bare" else ("100 %" if name == "bare" else "–"),
                    ]
                )
        w(table(["body", "system", "req/s", "bytes in+out", "p50", "p90", "p99", "p99.9", "of bare"], rows))
        w("")
    render_bodies(res, w)
    cs = res.get("cold_start", {})
    mcs = cs.get("motia_core", {}).get("runs_s") or []
    ccs = res.get("classic", {}).get("cold_start_runs_s") or []
    if mcs:
        w("## Cold start: `serve` to the first 200 OK (10-step mixed project)\n")
        w(
            "bench/projects/cold: 4 TypeScript, 3 JavaScript, 3 Python steps (API and event). Each start uses a "
            "fresh copy (no .motia cache); the clock runs from spawning the command to the first 200 on "
            "`GET /ping`, polled every 5 ms. Servers may use both CPUs here (nothing else runs)."
            + warmup_note(res)
            + "\n"
        )
        rows = [
            [
                "motia-core serve",
                ", ".join(f"{t * 1000:,.0f}" for t in mcs) + " ms",
                f"{statistics.median(mcs) * 1000:,.0f} ms",
            ]
        ]
        if ccs:
            rows.append(
                [
                    "classic Motia (motia start)",
                    ", ".join(f"{t * 1000:,.0f}" for t in ccs) + " ms",
                    f"{statistics.median(ccs) * 1000:,.0f} ms",
                ]
            )
        w(table(["system", "runs", "median"], rows))
        if ccs:
            w(f"\nmotia-core starts {ratio(statistics.median(ccs) / statistics.median(mcs))} faster.")
        w("")
        render_cold_phases(res, w)
    render_resources(res, w)
    render_scale(res, w)  # memory, soak, the scale curves (report_scale.py)
    render_classic(res, w)
    render_profile(res, w)
    render_floor(res, w)  # the floor experiment (suite_floor.py)
    w("## Method\n")
    w(
        "* Load generator: wrk 4.1 (`-t1`, closed loop with `-c1/-c16/-c64`) with bench/lua/wrk_json.lua, which "
        "writes every run's percentiles (wrk's HdrHistogram, µs) as JSON and, for the open-loop run, schedules "
        "each request on a fixed timeline. Event chains use bench/benchlib/chainload.py (asyncio + uvloop, a "
        "minimal keep-alive HTTP client and a UDP sink), streams bench/benchlib/streamload.py (aiohttp WebSocket "
        "clients and the same HTTP client), both pinned like wrk."
    )
    w(
        "* Each target gets a warm-up (Node's JIT settles after a few thousand calls) before its measured runs; "
        "a warm-up run is never counted. motia-core runs `serve --log-level warn`; the bare server has no access log."
    )
    w(
        "* motia-core and the bare server run side by side for the whole API part (an idle server costs "
        "nothing), so their runs are interleaved seconds apart and the ratios see the same machine state."
    )
    w(
        "* Classic Motia gets a **fresh server for every scenario** (its throughput falls the longer a server runs), "
        "runs the same step files (minus Ruby) with `motia start`, its own Redis (redis-memory-server with the apt "
        "`redis-server`, REDISMS_SYSTEM_BINARY), `MOTIA_ANALYTICS_DISABLED=true` and a `motia.config.ts` exporting "
        "`{ plugins: [] }`. Its API runs are closed loops of whole rounds (bench/benchlib/closedload.py: each of "
        "the c connections sends at least 5 requests and goes on for at least 4 s; req/s = the answers over the "
        "time they took), not a wrk window: at c16 one round of its 16 requests takes seconds, and a short window "
        "would count the rounds that fit in it."
    )
    w(
        "* RSS/CPU: psutil over each server's process tree (sampled every 0.25 s; CPU from cpu_times deltas, "
        "so it is exact for long-lived processes). RSS sums count shared pages once per process."
    )
    w(
        "* Every process the bench starts runs in its own session and is stopped with its whole tree "
        "(motia-core's runners included) when the scenario ends, on error or on Ctrl-C."
    )
    fails = res.get("failures")
    if fails:
        w("\n## Not run or failed\n")
        for f in fails:
            w(f"* **{f['scenario']}**: {f['why']}")
    if res.get("notes"):
        w("\n## Notes\n")
        for n in res["notes"]:
            w(f"* {n}")
    if charts:
        w("\n## Charts\n")
        for c in charts:
            w(f"![{c}]({c})")
    return "\n".join(out) + "\n"


def write(res: dict[str, Any], out: Path) -> Path:
    analyze(res)
    made = charts(res, out) + scale_charts(res, out)
    text = render(res, made)
    (out / "report.md").write_text(text)
    (out / "results.json").write_text(json.dumps(res, indent=1, default=str))
    return out / "report.md"


if __name__ == "__main__":
    path = Path(sys.argv[1])
    print(write(json.loads(path.read_text()), path.parent))
