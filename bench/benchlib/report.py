"""results.json -> derived ratios and targets -> report.md and PNG charts.

Re-render a finished run: `python bench/benchlib/report.py bench/results/<stamp>/results.json`.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NAMES = {
    "bare": "bare aiohttp (the limit)",
    "ts": "motia-core, TypeScript step",
    "js": "motia-core, JavaScript step",
    "py": "motia-core, Python step",
    "rb": "motia-core, Ruby step",
}
CLASSIC_NAMES = {"ts": "classic Motia, TypeScript step", "py": "classic Motia, Python step"}
LANGS = {"ts": "TS", "js": "JS", "py": "Python", "rb": "Ruby"}
RUNNER_OF = {"ts": "node runner", "js": "node runner", "py": "python runner", "rb": "ruby runner"}
P = ("p50", "p90", "p99", "p99_9")
PLABEL = {"p50": "p50", "p90": "p90", "p99": "p99", "p99_9": "p99.9"}
COMMAND = "make bench"


# -- formatting ------------------------------------------------------------------------------------


def ms(us: float | None) -> str:
    if us is None or (isinstance(us, float) and math.isnan(us)):
        return "–"
    if abs(us) < 1000:
        return f"{us:.0f} µs"
    if abs(us) < 100_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1000:,.0f} ms"


def num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def ratio(x: float | None) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}×"
    return f"{x:,.1f}×" if x >= 10 else f"{x:.2f}×"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# -- analysis --------------------------------------------------------------------------------------


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


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
            entry["cpu_us"] = _cpu_us(m)
            entry["foreign_pct"] = m.get("resources", {}).get("foreign_pct_on_server_cpus")
            if name != "bare" and bare.get(c):
                pairs = list(zip(runs, bare[c], strict=False))
                entry["of_bare"] = statistics.median(a["rps"] / b["rps"] for a, b in pairs if b["rps"])
                per_cpu = [cb / ca for a, b in pairs if (ca := _cpu_us(a)) and (cb := _cpu_us(b))]
                if per_cpu:
                    entry["of_bare_cpu"] = statistics.median(per_cpu)
                entry["added_us"] = {
                    p: statistics.median(a["latency_us"][p] - b["latency_us"][p] for a, b in pairs) for p in P
                }
            classic = res.get("classic", {}).get("api", {}).get(name, {}).get(c)
            if classic and classic["rps"]:
                entry["x_classic"] = m["rps"] / classic["rps"]
            summary.setdefault(name, {})[c] = entry
    res["summary"] = {"api": summary}
    res["targets"] = targets(res)


def _cpu_us(run: dict[str, Any]) -> float | None:
    """CPU µs per request of the whole server (every process of its tree) in one run."""
    r = run.get("resources", {})
    if not r.get("by_role") or not run.get("requests"):
        return None
    return float(sum(x["cpu_pct"] for x in r["by_role"].values()) / 100 * r["wall_s"] / run["requests"] * 1e6)


def _cpu_per_request(run: dict[str, Any], role: str) -> float | None:
    r = run.get("resources", {}).get("by_role", {}).get(role)
    if not r or not run.get("requests"):
        return None
    wall = run["resources"]["wall_s"]
    return float(r["cpu_pct"] / 100 * wall / run["requests"] * 1e6)


def _ctx_per_request(run: dict[str, Any], roles: list[str]) -> str:
    by_role = run.get("resources", {}).get("by_role", {})
    n = sum(by_role.get(r, {}).get("ctx_switches", 0) for r in roles if r)
    return f"{n / run['requests']:.1f}" if run.get("requests") and n else "–"


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    s = res["summary"]["api"]
    out: list[dict[str, Any]] = []

    def add(name: str, status: str, measured: str, detail: str = "") -> None:
        out.append({"target": name, "status": status, "measured": measured, "detail": detail})

    langs = [lang for lang in ("ts", "py") if "16" in s.get(lang, {})]
    # 1. x classic Motia at c16
    xs = {lang: s[lang]["16"].get("x_classic") for lang in langs}
    if langs and all(v is not None for v in xs.values()):
        add(
            "API step throughput at c16 ≥ 500× classic Motia (TS, Python)",
            "met" if all(v >= 500 for v in xs.values()) else "missed",
            ", ".join(f"{LANGS[k]} {ratio(v)}" for k, v in xs.items()),
        )
    elif langs:
        add(
            "API step throughput at c16 ≥ 500× classic Motia (TS, Python)",
            "not measured",
            "classic Motia did not run" if not res.get("classic", {}).get("api") else "incomplete",
        )
    # 2. % of bare at c16
    ofb = {lang: s[lang]["16"].get("of_bare") for lang in langs}
    if langs and all(v is not None for v in ofb.values()):
        add(
            "API step throughput at c16 ≥ 50 % of bare aiohttp (TS, Python)",
            "met" if all(v >= 0.5 for v in ofb.values()) else "missed",
            ", ".join(f"{LANGS[k]} {pct(v)}" for k, v in ofb.items())
            + " (per CPU µs: "
            + ", ".join(f"{LANGS[k]} {pct(s[k]['16'].get('of_bare_cpu'))}" for k in ofb)
            + ")",
        )
    # 3. added latency, without queueing (c1) and under load (c16)
    for c, why in (
        ("1", "one request at a time: the pure per-request overhead"),
        ("16", "c16: includes queueing behind the core's CPU"),
    ):
        worst: dict[str, tuple[float, str]] = {}
        for lang in langs:
            added = s.get(lang, {}).get(c, {}).get("added_us")
            for p in ("p50", "p99"):
                if added and (p not in worst or added[p] > worst[p][0]):
                    worst[p] = (added[p], LANGS[lang])
        if "p50" in worst and "p99" in worst:
            ok = worst["p50"][0] <= 1000 and worst["p99"][0] <= 5000
            add(
                f"Added latency vs bare at c{c}: p50 ≤ 1 ms and p99 ≤ 5 ms (TS, Python)",
                "met" if ok else "missed",
                f"worst p50 +{ms(worst['p50'][0])} ({worst['p50'][1]}), worst p99 +{ms(worst['p99'][0])} "
                f"({worst['p99'][1]}); {why}",
            )
    # 4. chains
    queue = res["meta"].get("queue", {})
    mc = res.get("chain", {}).get("16")
    cl = res.get("classic", {}).get("chain", {}).get("16")
    name = "Durable three-hop chains/s ≥ 200× classic Motia (k16)"
    if mc and cl and cl.get("per_s"):
        x = mc["per_s"] / cl["per_s"]
        status = ("met" if x >= 200 else "missed") if queue.get("durable") else "n/a (in-memory queue measured)"
        add(
            name,
            status,
            f"{ratio(x)} ({num(mc['per_s'])} vs {num(cl['per_s'], 1)} chains/s, "
            f"queue: {queue.get('description', '?')})",
        )
    elif mc:
        add(name, "not measured", f"motia-core {num(mc['per_s'])} chains/s; classic Motia chains did not run")
    # 5. cold start
    cold = res.get("cold_start", {}).get("motia_core", {}).get("runs_s") or []
    if cold:
        med = statistics.median(cold)
        add(
            "Cold start (`serve` to first 200 OK, 10-step mixed project) ≤ 1 s",
            "met" if med <= 1.0 else "missed",
            f"median {med * 1000:,.0f} ms of {len(cold)} (min {min(cold) * 1000:,.0f}, max {max(cold) * 1000:,.0f})",
        )
    # 6. idle RSS
    mc_idle = res.get("cold_start", {}).get("motia_core", {}).get("idle")
    cl_idle = res.get("classic", {}).get("idle")
    if mc_idle and cl_idle:
        add(
            "Idle RSS of core + runners ≤ half of classic Motia's",
            "met" if mc_idle["rss_mb"] <= cl_idle["rss_mb"] / 2 else "missed",
            f"{mc_idle['rss_mb']:.0f} MB vs {cl_idle['rss_mb']:.0f} MB "
            f"({100 * mc_idle['rss_mb'] / cl_idle['rss_mb']:.0f} %)",
        )
    elif mc_idle:
        add(
            "Idle RSS of core + runners ≤ half of classic Motia's",
            "not measured",
            f"motia-core {mc_idle['rss_mb']:.0f} MB; classic Motia did not run",
        )
    # streams
    st = res.get("streams", {})
    phases = st.get("phases") or {}
    if phases:
        lost = sum(p["lost"] for p in phases.values())
        expected = sum(p["expected"] for p in phases.values())
        closed = st.get("closed_clients") or []
        add(
            f"Streams: every write reaches all {st.get('clients', '?')} WebSocket clients (0 lost)",
            "met" if lost == 0 and not closed and expected else "missed",
            f"{lost:,} lost of {expected:,} deliveries expected ({len(phases)} phases, TS and Python writers"
            + (f"; {len(closed)} clients closed by the server" if closed else "")
            + ")",
        )
    # open loop
    ol = res.get("open_loop")
    if ol and ol.get("runs"):
        bad = [n for n, r in ol["runs"].items() if r["rps"] < 0.99 * ol["rate"]]
        add(
            f"Open loop at {num(ol['rate'])} req/s: achieved ≥ 99 % of target",
            "missed" if bad else "met",
            ", ".join(f"{n} {100 * r['rps'] / ol['rate']:.1f} %" for n, r in ol["runs"].items()),
        )
    return out


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
            "make install bench-system-deps && .venv/bin/python bench/run.py "
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
                ["target", "status", "measured (same run)"],
                [[t["target"], mark.get(t["status"], t["status"]), t["measured"]] for t in tg],
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
            for name in ("bare", "ts", "js", "py", "rb"):
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
                if e:
                    lat = e["latency_us"]
                    rows.append(
                        [
                            f"c{c}",
                            CLASSIC_NAMES[name],
                            num(e["rps"], 1),
                            *[ms(lat[p]) for p in P],
                            "",
                            "",
                            "",
                            f"({e['requests']} requests)",
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
            for name in ("ts", "js", "py", "rb"):
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
    ch = res.get("chain")
    if ch:
        w("## Event chain: API → TypeScript → Python → JavaScript\n")
        w(
            "`POST /chain` (TypeScript API step) emits `bench.chain.a`; a TypeScript, a Python and a JavaScript "
            "event step each forward it; the last one reports the id over UDP to the driver (bench/benchlib/"
            "chainload.py). k = chains in flight (closed loop over whole chains); chains/s = k / mean end-to-end "
            "time (Little's law, exact for a closed loop in steady state, also when one chain takes longer than "
            "the window, as under classic Motia); events/s = chains/s × hops. End-to-end = POST sent to report "
            f"received. Queue: **{m['queue']['description']}**.\n"
        )
        rows = []
        for k, r in ch.items():
            rows.append(
                [
                    "motia-core",
                    k,
                    num(r["per_s"]),
                    num(r["per_s"] * 3),
                    *[ms(r["latency_us"].get(p)) for p in P],
                    str(r["lost"]),
                ]
            )
        for k, r in res.get("chain_ruby", {}).items():
            rows.append(
                [
                    "motia-core, + Ruby hop (4 hops)",
                    k,
                    num(r["per_s"]),
                    num(r["per_s"] * 4),
                    *[ms(r["latency_us"].get(p)) for p in P],
                    str(r["lost"]),
                ]
            )
        for k, r in res.get("classic", {}).get("chain", {}).items():
            rows.append(
                [
                    "classic Motia",
                    k,
                    num(r["per_s"], 1),
                    num(r["per_s"] * 3, 1),
                    *[ms(r["latency_us"].get(p)) for p in P],
                    str(r["lost"]),
                ]
            )
        w(table(["system", "k", "chains/s", "events/s", "e2e p50", "p90", "p99", "p99.9", "lost"], rows))
        cl = res.get("classic", {}).get("chain", {})
        xs = [
            f"k{k}: {ratio(ch[k]['per_s'] / cl[k]['per_s'])} the chains/s, p50 "
            f"{ratio(cl[k]['latency_us']['p50'] / ch[k]['latency_us']['p50'])} lower"
            for k in ch
            if k in cl and cl[k].get("per_s") and cl[k]["latency_us"] and ch[k]["latency_us"]
        ]
        if xs:
            w("\nmotia-core vs classic Motia: " + "; ".join(xs) + ".")
        w("")
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
    cs = res.get("cold_start", {})
    mcs = cs.get("motia_core", {}).get("runs_s") or []
    ccs = res.get("classic", {}).get("cold_start_runs_s") or []
    if mcs:
        w("## Cold start: `serve` to the first 200 OK (10-step mixed project)\n")
        w(
            "bench/projects/cold: 4 TypeScript, 3 JavaScript, 3 Python steps (API and event). Each start uses a "
            "fresh copy (no .motia cache); the clock runs from spawning the command to the first 200 on "
            "`GET /ping`, polled every 5 ms. Servers may use both CPUs here (nothing else runs).\n"
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
    render_resources(res, w)
    render_classic(res, w)
    render_profile(res, w)
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
        "`{ plugins: [] }`. Its runs are short (a few seconds): it is slow."
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


def render_streams(res: dict[str, Any], w: Any) -> None:
    st = res.get("streams", {})
    phases: dict[str, dict[str, Any]] = st.get("phases") or {}
    if not phases:
        return
    n = st.get("clients", 50)
    w(f"## Streams: {n} WebSocket clients on one group\n")
    w(
        "bench/projects/streams: `POST /ticks/<lang>` runs `ctx.streams.ticks.set('bench', id, {seq, sentAt})` in "
        f"a TypeScript or a Python API step; {n} plain aiohttp WebSocket clients (bench/benchlib/streamload.py, "
        "one process on the load generators' CPU) joined the group `bench` (`join` without an id) and each "
        "receives every create/update. k = writers in a closed loop (each writes its own item, the next write "
        "when the previous one is answered); open = a fixed write rate, a share of the slower language's "
        f"k{st.get('writers', 4)} rate, on up to 64 connections. Delivered = create/update messages received by "
        f"the clients in the measured window (ideally {n} × writes). Latency = the driver's clock read just before "
        "the HTTP request (`sentAt`) to a client getting the message, per client and message; *all clients* = to "
        "the last client of each write. Both clocks are the driver's own, and a receipt is stamped when its "
        "client's coroutine runs, so the driver's queueing (its CPU is shown) is included. Lost = acknowledged "
        "writes some client never received (counted after a drain of up to 5 s per phase).\n"
    )
    rows = []
    for p in phases.values():
        lat = p.get("latency_us") or {}
        load = f"k{p['writers']}" if p["mode"] == "closed" else f"open {num(p.get('rate_target'))}/s"
        if p["mode"] == "open" and p.get("rate_target"):
            load += f" ({100 * p['writes_per_s'] / p['rate_target']:.0f} % achieved)"
        rows.append(
            [
                LANGS.get(p.get("lang") or "", p.get("lang") or "?"),
                load,
                num(p["writes_per_s"]),
                num(p["delivered_per_s_per_client"]),
                num(p["delivered_per_s"]),
                *[ms(lat.get(q)) for q in ("p50", "p90", "p99")],
                ms((p.get("latency_all_clients_us") or {}).get("p99")),
                ms((p.get("http_latency_us") or {}).get("p50")),
                f"{p['lost']} of {p['expected']:,}",
            ]
        )
    w(
        table(
            [
                "writer",
                "load",
                "writes/s",
                "delivered/s per client",
                f"delivered/s total ({n} clients)",
                "p50",
                "p90",
                "p99",
                "p99 all clients",
                "HTTP p50",
                "lost",
            ],
            rows,
        )
    )
    w("")
    rows = []
    for name, p in phases.items():
        r = p.get("resources") or {}
        roles = r.get("by_role", {})
        core = roles.get("core", {})
        runner = roles.get(RUNNER_OF.get(p.get("lang") or "", ""), {})
        writes = p["writes_per_s"] * p["duration_s"]
        total_cpu = sum(x["cpu_pct"] for x in roles.values())
        main = r.get("root_threads", {}).get("main_cpu_pct", 0)
        rows.append(
            [
                name,
                f"{core.get('cpu_pct', 0):.0f} % ({main:.0f} % main thread)",
                f"{runner.get('cpu_pct', 0):.0f} %" if runner else "–",
                ms(total_cpu / 100 * r.get("wall_s", 0) / writes * 1e6) if writes and r else "–",
                f"{core.get('peak_rss_mb', 0):.0f} MB",
                f"{p.get('driver_cpu_pct', 0):.0f} %"
                + (f" ({p['driver_cpus_busy_pct']:.0f} %)" if "driver_cpus_busy_pct" in p else ""),
                "–" if r.get("foreign_pct_on_server_cpus") is None else f"{r['foreign_pct_on_server_cpus']:.0f} %",
            ]
        )
    w(
        "Per phase, over the measured window (psutil on the server's process tree; CPU in % of one core; with "
        "the split layout the server has one CPU and the driver another). Server CPU / write = core + runners; "
        "other load = CPU time other processes took on the server's CPU (as in the API table); a driver CPU "
        "busier than the driver itself means something else ran there too and delayed the clients.\n"
    )
    w(
        table(
            [
                "phase",
                "core CPU",
                "runner CPU",
                "server CPU / write",
                "core peak RSS",
                "driver CPU (its CPU busy)",
                "other load",
            ],
            rows,
        )
    )
    idle, with_clients = st.get("core_idle"), st.get("core_idle_with_clients")
    notes = []
    if idle and with_clients:
        core0 = next((x["rss_mb"] for x in idle["processes"] if x["role"] == "core"), None)
        core1 = next((x["rss_mb"] for x in with_clients["processes"] if x["role"] == "core"), None)
        if core0 is not None and core1 is not None:
            notes.append(
                f"core RSS {core0:.0f} MB idle, {core1:.0f} MB with the {n} clients joined "
                f"({max(0.0, core1 - core0) * 1024 / n:.0f} KB per client)"
            )
    if "received_total" in st:
        notes.append(
            f"{st['received_total']:,} messages received in all, "
            f"{sum(p['duplicates'] for p in phases.values())} duplicated, {st.get('out_of_order', 0)} out of order "
            "within an item"
        )
    closed = st.get("closed_clients") or []
    if closed:
        notes.append(f"{len(closed)} clients were closed during the run: {closed[:3]}")
    if notes:
        w("\n" + "; ".join(notes) + ".")
    w("")


def render_resources(res: dict[str, Any], w: Any) -> None:
    mc_idle = res.get("cold_start", {}).get("motia_core", {}).get("idle")
    cl_idle = res.get("classic", {}).get("idle")
    api = res.get("api", {})
    if not (mc_idle or api):
        return
    w("## Resources\n")
    if mc_idle or cl_idle:
        w(
            "Idle, 2 s after the first 200 OK on the 10-step project (RSS = resident set size; USS = memory "
            "unique to the process):\n"
        )
        rows = []
        for label, snap in (("motia-core", mc_idle), ("classic Motia", cl_idle)):
            if not snap:
                continue
            for p in snap["processes"]:
                rows.append([label, p["role"], f"{p['rss_mb']:.0f} MB", f"{p['uss_mb']:.0f} MB"])
            rows.append([label, "**total**", f"**{snap['rss_mb']:.0f} MB**", f"**{snap['uss_mb']:.0f} MB**"])
        w(table(["system", "process", "RSS", "USS"], rows))
        if mc_idle and cl_idle:
            w(
                f"\nmotia-core / classic Motia: RSS {100 * mc_idle['rss_mb'] / cl_idle['rss_mb']:.0f} %, "
                f"USS {100 * mc_idle['uss_mb'] / cl_idle['uss_mb']:.0f} %."
            )
        w("")
    floors = res.get("import_floors")
    if floors:
        w("RSS floors: a fresh interpreter after importing what the core and the Node runner import (cumulative):\n")
        w(table(["interpreter and imports", "RSS"], [[f["what"], f"{f['rss_mb']:.0f} MB"] for f in floors]))
        w("")
    rows = []
    for name in ("bare", "ts", "js", "py", "rb"):
        runs = api.get(name, {}).get("16")
        if not runs:
            continue
        run = median_run(runs)
        r = run.get("resources", {})
        roles = r.get("by_role", {})
        core_role = "core" if name != "bare" else next(iter(roles), None)
        core = roles.get(core_role or "", {})
        runner = roles.get(RUNNER_OF.get(name, ""), {})
        th = r.get("root_threads", {})
        rows.append(
            [
                NAMES[name],
                num(run["rps"]),
                f"{core.get('cpu_pct', 0):.0f} % ({th.get('main_cpu_pct', 0):.0f} % main thread)",
                f"{core.get('peak_rss_mb', 0):.0f} MB",
                f"{runner.get('cpu_pct', 0):.0f} %" if runner else "–",
                f"{runner.get('peak_rss_mb', 0):.0f} MB" if runner else "–",
                ms(_cpu_per_request(run, core_role or "")) if core_role else "–",
                ms(_cpu_per_request(run, RUNNER_OF[name])) if runner else "–",
                _ctx_per_request(run, [core_role or "", RUNNER_OF.get(name, "")]),
            ]
        )
    if rows:
        w("Under load (the median c16 run of each system; CPU in % of one core):\n")
        w(
            table(
                [
                    "system",
                    "req/s",
                    "core CPU",
                    "core RSS",
                    "runner CPU",
                    "runner RSS",
                    "core CPU / request",
                    "runner CPU / request",
                    "context switches / request",
                ],
                rows,
            )
        )
        w("")


def render_classic(res: dict[str, Any], w: Any) -> None:
    cl = res.get("classic")
    if not cl:
        return
    w("## Classic Motia side by side\n")
    if cl.get("status") != "ok":
        w(f"Classic Motia was **{cl.get('status')}**.\n")
        return
    s = res["summary"]["api"]
    rows = []
    for lang in ("ts", "py"):
        for c in ("1", "16"):
            e = cl.get("api", {}).get(lang, {}).get(c)
            mc = s.get(lang, {}).get(c)
            if e and mc:
                rows.append(
                    [
                        f"API {LANGS[lang]} c{c}",
                        f"{num(e['rps'], 1)} req/s, p50 {ms(e['latency_us']['p50'])}",
                        f"{num(mc['rps'])} req/s, p50 {ms(mc['latency_us']['p50'])}",
                        f"{ratio(mc['rps'] / e['rps'])} throughput, "
                        f"{ratio(e['latency_us']['p50'] / mc['latency_us']['p50'])} lower p50",
                    ]
                )
    for k, e in cl.get("chain", {}).items():
        mc = res.get("chain", {}).get(k)
        if mc and e.get("per_s") and e["latency_us"]:
            rows.append(
                [
                    f"3-hop chain k{k}",
                    f"{num(e['per_s'], 1)} chains/s, p50 {ms(e['latency_us']['p50'])}",
                    f"{num(mc['per_s'])} chains/s, p50 {ms(mc['latency_us']['p50'])}",
                    f"{ratio(mc['per_s'] / e['per_s'])} chains/s, "
                    f"{ratio(e['latency_us']['p50'] / mc['latency_us']['p50'])} lower p50",
                ]
            )
    ccs = cl.get("cold_start_runs_s") or []
    mcs = res.get("cold_start", {}).get("motia_core", {}).get("runs_s") or []
    if ccs and mcs:
        a, b = statistics.median(ccs), statistics.median(mcs)
        rows.append(["cold start (10 steps)", f"{a * 1000:,.0f} ms", f"{b * 1000:,.0f} ms", f"{ratio(a / b)} faster"])
    ci, mi = cl.get("idle"), res.get("cold_start", {}).get("motia_core", {}).get("idle")
    if ci and mi:
        rows.append(
            [
                "idle RSS (10 steps)",
                f"{ci['rss_mb']:.0f} MB",
                f"{mi['rss_mb']:.0f} MB",
                f"{100 * mi['rss_mb'] / ci['rss_mb']:.0f} % of classic",
            ]
        )
    pay = cl.get("payload", {})
    for label in ("1 KB", "100 KB", "1 MB"):
        for lang in ("ts", "py"):
            e = pay.get(lang, {}).get(label)
            mc = res.get("payload", {}).get(lang, {}).get(label)
            if not e or not mc:
                continue
            if "failed" in e:
                rows.append(
                    [f"payload {label} {LANGS[lang]} c16", f"fails: {e['failed']}", f"{num(mc['rps'])} req/s", ""]
                )
            elif e.get("rps"):
                rows.append(
                    [
                        f"payload {label} {LANGS[lang]} c16",
                        f"{num(e['rps'], 1)} req/s",
                        f"{num(mc['rps'])} req/s",
                        f"{ratio(mc['rps'] / e['rps'])} throughput",
                    ]
                )
    w(table(["scenario", "classic Motia", "motia-core", "motia-core vs classic"], rows))
    w(
        "\nNot run under classic Motia: the JavaScript and Ruby API steps (its Ruby support is beta) and the "
        "fan-out. Classic Motia hands a step its whole input as one command-line argument of the process it "
        "spawns, so a request body that makes that argument longer than Linux's 128 KiB limit fails with "
        "E2BIG (the payload rows above).\n"
    )


def render_profile(res: dict[str, Any], w: Any) -> None:
    prof = res.get("profile")
    missed = [t for t in res.get("targets", []) if t["status"] == "missed"]
    if not prof:
        return
    w("## Where the core's time goes (py-spy, c16)\n")
    if missed:
        w(
            "Missed: " + "; ".join(t["target"] for t in missed) + ". Profile of the core process under the c16 load "
            "(`py-spy record --native --threads -r 100 -d 6` on the core's pid; raw stacks in "
            "profile-core-<lang>-c16.txt next to this report). Percentages are of the main thread's samples.\n"
        )
    else:
        w("Every target was met; the profile is kept for reference.\n")
    for lang, p in prof.items():
        w(f"### Core under the {LANGS[lang]} step\n")
        w(
            table(
                ["where (innermost attributable frame)", "share"],
                [[b["bucket"], f"{b['pct']:.1f} %"] for b in p["buckets"]],
            )
        )
        w("")
        w(table(["syscall (caller)", "share"], [[b["call"], f"{b['pct']:.1f} %"] for b in p["syscalls"]]))
        w("")
        w("Top frames (self time):\n")
        w(table(["frame", "self"], [[f"`{r['frame']}`", f"{r['pct']:.1f} %"] for r in p["self"][:12]]))
        w("")
        w("Top frames (inclusive):\n")
        w(table(["frame", "inclusive"], [[f"`{r['frame']}`", f"{r['pct']:.1f} %"] for r in p["inclusive"][:12]]))
        w("")
    reading = profile_reading(res)
    if reading:
        w("### Reading\n")
        w(reading)
        w("")
        w(SUGGESTIONS)
        w("")


def profile_reading(res: dict[str, Any]) -> str:
    """The measured facts the reading rests on, computed from this run."""
    api = res.get("api", {})
    prof = res.get("profile", {})
    if not api.get("bare", {}).get("16") or not prof:
        return ""
    bare_run = median_run(api["bare"]["16"])
    bare_cpu = _cpu_per_request(bare_run, next(iter(bare_run.get("resources", {}).get("by_role", {})), ""))
    lines = []
    for lang, p in prof.items():
        runs = api.get(lang, {}).get("16")
        if not runs:
            continue
        run = median_run(runs)
        core = _cpu_per_request(run, "core")
        runner = _cpu_per_request(run, RUNNER_OF[lang])
        if core is None or bare_cpu is None:
            continue
        buckets = {b["bucket"]: b["pct"] for b in p["buckets"]}

        def share(*prefixes: str, b: dict[str, float] = buckets) -> float:
            return sum(v for k, v in b.items() if k.startswith(prefixes))

        line = (
            f"* **{LANGS[lang]} step, c16.** Per request the core process burns **{ms(core)} of CPU** and the "
            f"{RUNNER_OF[lang]} **{ms(runner)}**; the whole bare aiohttp server burns **{ms(bare_cpu)}**. On one core "
            f"that caps motia-core near {num(1e6 / (core + (runner or 0)))} req/s (measured {num(run['rps'])}, "
            f"bare {num(bare_run['rps'])}); context switches per request (core + runner): "
            f"{_ctx_per_request(run, ['core', RUNNER_OF[lang]])}. In the core's main thread (py-spy): HTTP/aiohttp "
            f"{share('HTTP'):.0f} %, gRPC + protobuf {share('gRPC', 'protobuf'):.0f} %, event loop "
            f"{share('asyncio'):.0f} %, motia-core's own code {share('motia_core', 'orjson'):.0f} %."
        )
        during = p.get("cpu_during", {}).get("root_threads", {})
        unprofiled = (run.get("resources", {}).get("root_threads") or {}).get("main_cpu_pct", 0.0)
        hz, secs = p.get("rate_hz", 200), p.get("seconds", 5)
        active = 100.0 * p["samples_main_thread"] / (secs * hz)
        if during:
            line += (
                f" Caveat: py-spy samples wall-clock stacks and, in the blocking mode native stacks need, pauses "
                f"the core {hz} times a second (its main thread ran at {during.get('main_cpu_pct', 0):.0f} % CPU "
                f"while profiled, against {unprofiled:.0f} % in the measured run; it was non-idle in "
                f"{active:.0f} % of the samples). With the core and the runner on one CPU, a "
                "`sendmsg()`/`write()` that wakes the runner is often preempted inside the kernel, so the "
                "syscall rows include the runner's run time."
            )
        perf = p.get("perf_dso")
        if perf:
            top = ", ".join(f"{r['dso'].replace('[kernel.kallsyms]', 'kernel')} {r['pct']:.0f} %" for r in perf[:5])
            line += f" perf's on-CPU samples of the core (no such bias): {top}."
        lines.append(line)
    return "\n".join(lines)


SUGGESTIONS = """\
**Suggestions** (for the core and runner owners; this bench changes neither):

1. **Fewer gRPC frames, or a cheaper stream.** The core pays per frame, not per byte: every frame is a
   grpc.aio write (a hop into the C core, a completion-queue event handled by grpc's poller thread,
   an eventfd/futex wake-up and a `sendmsg()`) and every received frame the same in reverse. At c16 the
   writer coalesces only what was queued since its last wake-up. Letting the writer yield once more to
   the event loop before it takes the batch (or flushing on a size/time threshold) raises the batch
   size when the core is busy, which is exactly when it matters; the runners' writers likewise. The
   bigger lever is the transport itself: the raw ping-pong above shows what grpc.aio costs with no
   step work at all; a length-prefixed protobuf stream over the same unix socket on a plain asyncio
   Protocol (same envelopes, same batching) removes the thread hand-off, and this harness
   (bench/benchlib/grpc_pingpong.py) can measure the two side by side before anyone commits to it.
2. **Less Python per request in the core.** Per invocation the core runs two layer coroutines
   (`failure_log_layer`, `tracing_layer`) around `RunnerInvoke`, builds a trace record
   (`TraceStore.begin`, `new_trace_id`, `new_invocation_id`) and assembles a protobuf message field by
   field. Fusing the layers into one coroutine on the API path, recording spans into a preallocated
   ring (turned into dicts only when `/__motia/traces` is read) and skipping empty optional fields
   each remove a few µs from a budget where bare aiohttp spends about 20 µs in total.
3. **Context switches.** On a 2-core machine the core, its grpc poller thread and a runner compete for
   the same CPUs; each request costs a couple of context switches (table above). Fewer, larger frames
   (1.) reduce them directly; pinning the runner and the core to different CPUs when there are enough
   (the "both CPUs" table shows the effect) is a deployment-side option.
4. **Idle memory.** The core's idle RSS is mostly its imports and the Node runner's is mostly Node
   itself plus grpc-js and esbuild (see "RSS floors" in the resources section). Candidates: stop
   esbuild's service process once the steps are loaded (restart it on hot reload), import jsonschema
   only when a body fails validation, validate configs with pydantic in a way that lets the serving
   process not keep it (or lazily), and start no runner for a language whose steps are all noop."""


# -- charts ----------------------------------------------------------------------------------------


def charts(res: dict[str, Any], out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        res.setdefault("notes", []).append("matplotlib is not installed: no charts (make bench installs it).")
        return []
    made: list[str] = []
    s = res["summary"]["api"]
    classic = res.get("classic", {}).get("api", {})
    colors = {
        "bare": "#444444",
        "ts": "#3178c6",
        "js": "#c9a800",
        "py": "#2b8a3e",
        "rb": "#c92a2a",
        "classic ts": "#91b4e3",
        "classic py": "#8fd19e",
    }

    def nines(p: float) -> float:
        return -math.log10(max(1e-6, 1 - p / 100))

    def cdf_plot(fname: str, title: str, series: list[tuple[str, list[list[float]], str, str]]) -> None:
        series = [x for x in series if x[1]]
        if not series:
            return
        fig, ax = plt.subplots(figsize=(8, 4.8))
        for label, cdf, color, style in series:
            pts = [(v / 1000, nines(p)) for p, v in cdf if p < 100]
            ax.plot([a for a, _ in pts], [b for _, b in pts], style, color=color, label=label, linewidth=1.6)
        ax.set_xscale("log")
        ticks = [0, 50, 90, 99, 99.9, 99.99]
        ax.set_yticks([nines(t) for t in ticks], [f"{t:g} %" for t in ticks])
        ax.set_xlabel("latency (ms, log scale)")
        ax.set_ylabel("percentile")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        made.append(fname)

    api = res.get("api", {})
    for c in ("1", "16", "64"):
        series = []
        for name in ("bare", "ts", "js", "py", "rb"):
            runs = api.get(name, {}).get(c)
            if runs:
                series.append((NAMES[name], median_run(runs)["cdf_us"], colors[name], "-"))
        for name in ("ts", "py"):
            e = classic.get(name, {}).get(c)
            if e:
                series.append((CLASSIC_NAMES[name], e["cdf_us"], colors[f"classic {name}"], "--"))
        cdf_plot(f"latency-api-c{c}.png", f"API step no-op, closed loop c{c}: latency CDF", series)
    ol = res.get("open_loop")
    if ol and ol.get("runs"):
        cdf_plot(
            "latency-open-loop.png",
            f"API step no-op, open loop at {ol['rate']:,} req/s",
            [(NAMES[n], r["cdf_us"], colors[n], "-") for n, r in ol["runs"].items()],
        )
    series = []
    for k, r in res.get("chain", {}).items():
        series.append(
            (f"motia-core k{k}", r["cdf_us"], {"1": "#74c0fc", "16": "#1c7ed6", "64": "#0b3d91"}.get(k, "b"), "-")
        )
    for k, r in res.get("chain_ruby", {}).items():
        series.append((f"motia-core + Ruby hop k{k}", r["cdf_us"], colors["rb"], "-"))
    for k, r in res.get("classic", {}).get("chain", {}).items():
        series.append((f"classic Motia k{k}", r["cdf_us"], {"1": "#ffa8a8", "16": "#e03131"}.get(k, "r"), "--"))
    cdf_plot("latency-chain.png", "Event chain API > TS > Python > JS: end-to-end latency", series)
    cdf_plot(
        "latency-fanout.png",
        "Fan-out 1 > 10: time until all ten subscribers ran",
        [
            (f"k{k}", r["cdf_us"], {"1": "#74c0fc", "16": "#1c7ed6"}.get(k, "b"), "-")
            for k, r in res.get("fanout", {}).items()
        ],
    )
    st_phases = res.get("streams", {}).get("phases") or {}
    # one color per load (k1, k4, each open-loop rate), solid for the TS writer, dashed for Python
    palette = ["#74c0fc", "#1c7ed6", "#8fd19e", "#2b8a3e", "#ffa8a8", "#e03131", "#862e9c", "#f08c00"]
    loads = list(dict.fromkeys(name.partition(" ")[2] for name in st_phases))
    cdf_plot(
        "latency-streams.png",
        f"Streams: write to delivery, {res.get('streams', {}).get('clients', 50)} WebSocket clients",
        [
            (
                name,
                p.get("cdf_us") or [],
                palette[loads.index(name.partition(" ")[2]) % len(palette)],
                "-" if p.get("lang") == "ts" else "--",
            )
            for name, p in st_phases.items()
        ],
    )
    pay = res.get("payload", {})
    for label in ("1 KB", "100 KB", "1 MB"):
        cdf_plot(
            f"latency-payload-{label.replace(' ', '').lower()}.png",
            f"Payload {label} through an API step, c16",
            [
                (NAMES[n], pay[n][label]["cdf_us"], colors[n], "-")
                for n in ("bare", "ts", "py", "rb")
                if label in pay.get(n, {})
            ],
        )
    g = res.get("grpc", {})
    cdf_plot(
        "latency-grpc-rtt.png",
        "Raw gRPC ping-pong round trip (one in flight)",
        [
            (lang, r["rtt"]["cdf_us"], {"node": colors["ts"], "python": colors["py"], "ruby": colors["rb"]}[lang], "-")
            for lang, r in g.items()
        ],
    )
    # throughput bars
    for c in ("1", "16"):
        bars = [
            (NAMES[n].replace(", ", "\n"), s[n][c]["rps"], colors[n])
            for n in ("bare", "ts", "js", "py", "rb")
            if c in s.get(n, {})
        ]
        bars += [
            (CLASSIC_NAMES[n].replace(", ", "\n"), classic[n][c]["rps"], colors[f"classic {n}"])
            for n in ("ts", "py")
            if c in classic.get(n, {})
        ]
        if not bars:
            continue
        fig, ax = plt.subplots(figsize=(9, 4.8))
        xs = range(len(bars))
        ax.bar(xs, [b[1] for b in bars], color=[b[2] for b in bars])
        ax.set_xticks(list(xs), [b[0] for b in bars], fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("requests/s (log scale)")
        ax.set_title(f"API step no-op throughput, c{c}: motia-core vs classic Motia vs bare aiohttp")
        for x, b in zip(xs, bars, strict=True):
            ax.text(x, b[1] * 1.1, f"{b[1]:,.0f}" if b[1] >= 100 else f"{b[1]:,.1f}", ha="center", fontsize=8)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        fig.tight_layout()
        fname = f"throughput-api-c{c}.png"
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        made.append(fname)
    ch, cl = res.get("chain", {}), res.get("classic", {}).get("chain", {})
    if ch:
        bars = [(f"motia-core k{k}", r["per_s"], "#1c7ed6") for k, r in ch.items()]
        bars += [(f"classic Motia k{k}", r["per_s"], "#e03131") for k, r in cl.items()]
        fig, ax = plt.subplots(figsize=(8, 4.4))
        ax.bar(range(len(bars)), [max(b[1], 0.01) for b in bars], color=[b[2] for b in bars])
        ax.set_xticks(list(range(len(bars))), [b[0] for b in bars], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("three-hop chains/s (log scale)")
        ax.set_title("Event chain throughput: motia-core vs classic Motia")
        for x, b in enumerate(bars):
            ax.text(x, max(b[1], 0.01) * 1.1, f"{b[1]:,.1f}", ha="center", fontsize=8)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "throughput-chain.png", dpi=110)
        plt.close(fig)
        made.append("throughput-chain.png")
    return made


def write(res: dict[str, Any], out: Path) -> Path:
    analyze(res)
    made = charts(res, out)
    text = render(res, made)
    (out / "report.md").write_text(text)
    (out / "results.json").write_text(json.dumps(res, indent=1, default=str))
    return out / "report.md"


if __name__ == "__main__":
    path = Path(sys.argv[1])
    print(write(json.loads(path.read_text()), path.parent))
