"""Report sections and charts of suite_memory.py (memory, soak) and suite_scale*.py (the curves).
`findings()` names every curve that grows worse than linearly (thresholds below), so the report says
it rather than leaving it to the reader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.report_format import idle_moment, ms, num, table

# worse than linear: the marginal cost per added unit on the last segment is this many times the first
SUPERLINEAR = 1.5
ROUTES_MIN_RATIO = 0.9  # 1,000 routes must keep this share of the 10-route throughput
BACKLOG_MIN_RATIO = 0.8  # events/s with the largest backlog, of the empty queue's
FANOUT_MAX_CPU_RATIO = 1.5  # core CPU per delivery at the most clients, of the fewest


def findings(res: dict[str, Any]) -> list[str]:
    cv = res.get("curves") or {}
    out: list[str] = []
    g = (cv.get("steps") or {}).get("growth") or {}
    for key, label in (("cold_start_median_s", "cold start"), ("idle_rss_mb", "idle RSS")):
        m = g.get(key)
        if m and m["first_slope"] > 0 and m["last_slope"] > SUPERLINEAR * m["first_slope"]:
            out.append(
                f"{label} per added step rises from {m['first_slope']:.4g} to {m['last_slope']:.4g} "
                "(worse than linear in the number of steps)"
            )
    for kind, r in ((cv.get("routes") or {}).get("ratio") or {}).items():
        if r["rps"] < ROUTES_MIN_RATIO:
            out.append(f"{kind} route: 1,000 routes reach {100 * r['rps']:.0f} % of the 10-route throughput")
    pts = (cv.get("backlog") or {}).get("points") or []
    if len(pts) > 1 and pts[-1].get("of_empty") is not None and pts[-1]["of_empty"] < BACKLOG_MIN_RATIO:
        out.append(
            f"event throughput with {pts[-1]['backlog']:,} waiting events is {100 * pts[-1]['of_empty']:.0f} % "
            "of the empty queue's"
        )
    fp = (cv.get("fanout") or {}).get("points") or []
    # net of the idle clients' own cost (heartbeats), which grows with the clients, not the deliveries
    key = (
        "core_cpu_us_per_delivery_net"
        if fp and fp[0].get("core_cpu_us_per_delivery_net")
        else "core_cpu_us_per_delivery"
    )
    if len(fp) > 1 and fp[0].get(key) and fp[-1].get(key):
        r = fp[-1][key] / fp[0][key]
        if r > FANOUT_MAX_CPU_RATIO:
            out.append(
                f"core CPU per delivered stream message is {r:.1f}x at {fp[-1]['clients']:,} clients "
                f"vs {fp[0]['clients']}"
            )
    for name, gr in ((res.get("soak") or {}).get("growth") or {}).items():
        if gr.get("grows"):
            out.append(f"soak: {name} grows without levelling off ({gr['slope_mb_per_min']:+.2f} MB/min)")
    return out


def render_scale(res: dict[str, Any], w: Callable[[str], None]) -> None:
    _memory(res, w)
    _soak(res, w)
    _curves(res, w)
    if res.get("curves") or res.get("soak"):
        found = findings(res)
        w("**Worse than linear, or growing:** " + ("; ".join(found) + "." if found else "nothing in this run.") + "\n")


def _memory(res: dict[str, Any], w: Callable[[str], None]) -> None:
    mem = res.get("memory")
    if not mem or "idle" not in mem:
        return
    w(f"## Memory: idle and under c{mem['c']} API load\n")
    w(
        "bench/projects/bench on the servers' CPU: RSS per process idle "
        f"({idle_moment(('motia-core', mem['idle']))}), the peak under wrk c{mem['c']} for {mem['seconds']:g} s "
        "on `GET /noop/ts` then `/noop/py` (sampled every 0.25 s), "
        "and after each load. (`bench/benchlib/suite_memory.py`)\n"
    )
    rows = []
    for p in mem["idle"]["processes"]:
        role = p["role"]
        row = [role, f"{p['rss_mb']:.0f} MB"]
        for lang in ("ts", "py"):
            r = mem.get(lang) or {}
            peak = (r.get("peak_by_role_mb") or {}).get(role)
            after = next(
                (q["rss_mb"] for q in (r.get("after") or {}).get("processes", []) if q["pid"] == p["pid"]), None
            )
            row += ["–" if peak is None else f"{peak:.0f} MB", "–" if after is None else f"{after:.0f} MB"]
        rows.append(row)
    rps = {lang: num((mem.get(lang) or {}).get("rps")) for lang in ("ts", "py")}
    w(
        table(
            [
                "process",
                "idle",
                f"peak, TS c{mem['c']} ({rps['ts']} req/s)",
                "after TS",
                f"peak, Python c{mem['c']} ({rps['py']} req/s)",
                "after Python",
            ],
            rows,
        )
    )
    w("\nPeaks are per role (a role with several processes adds them up).\n")


def _soak(res: dict[str, Any], w: Callable[[str], None]) -> None:
    s = res.get("soak")
    if not s or not s.get("growth"):
        return
    ld = s["load"]
    w(f"## Soak: {s['seconds']:.0f} s of mixed load\n")
    w(
        f"`bench/run.py --soak {s['seconds']:.0f}` (`make bench BENCH_ARGS='--soak {s['seconds']:.0f}'`): one core on "
        f"bench/projects/bench plus the streams steps; wrk open loop at {ld['api_rate_per_step']} req/s on each of "
        f"`/noop/ts` and `/noop/py`, the event chain at k{ld['chain_k']}, {ld['stream_clients']} WebSocket clients "
        f"of a stream written {ld['stream_writes_per_s']} times/s by a Python step; RSS of every process every "
        f"{s['interval_s']:g} s. *Grows* = the last third's mean and floor (its lowest sample: what a garbage "
        "collection leaves) are above the first third's by more than 2 MB and 3 %, and the second half still "
        "climbs at more than half the whole run's slope (and 0.2 MB/min).\n"
    )
    rows = [
        [
            name,
            f"{g['first_mb']:.0f} MB",
            f"{g['last_mb']:.0f} MB",
            f"{g['slope_mb_per_min']:+.2f}",
            f"{g['late_slope_mb_per_min']:+.2f}",
            f"{g['first_third_mb']:.1f} / {g['last_third_mb']:.1f} MB",
            f"{g.get('first_floor_mb', 0):.0f} / {g.get('last_floor_mb', 0):.0f} MB",
            "**grows**" if g["grows"] else "levels off",
        ]
        for name, g in s["growth"].items()
    ]
    w(
        table(
            [
                "process",
                "first",
                "last",
                "MB/min",
                "MB/min, 2nd half",
                "first / last third",
                "floor first / last third",
                "verdict",
            ],
            rows,
        )
    )
    lr = s.get("load_results") or {}
    if lr:
        parts = []
        for k, r in lr.items():
            if "rps" in r:
                parts.append(f"{k} {num(r['rps'])} req/s (p99 {ms(r['p99_us'])}, {r['errors']} errors)")
            elif "chains_per_s" in r:
                parts.append(f"chain {num(r['chains_per_s'], 1)} chains/s ({r['lost']} lost)")
            elif "writes_per_s" in r:
                parts.append(f"stream {num(r['writes_per_s'], 1)} writes/s (p99 {ms(r['p99_us'])}, {r['lost']} lost)")
        w("\nLoad achieved (a target rate not reached means the machine was saturated): " + "; ".join(parts) + ".")
    if s.get("errors"):
        w("\nLoad errors: " + "; ".join(s["errors"]))
    w("")


def _curves(res: dict[str, Any], w: Callable[[str], None]) -> None:
    cv = res.get("curves")
    if not cv:
        return
    w("## How cost grows with the work\n")
    scope = "with `--curves-full`" if cv.get("full") else "default points (the largest need `--curves-full`)"
    w(f"`bench/benchlib/suite_scale.py` and `suite_scale_load.py`, {scope}.\n")
    st = cv.get("steps")
    if st:
        w("### Cold start and idle RSS against the number of steps\n")
        w(
            "Generated projects (a third each TypeScript API, JavaScript event, Python API and event steps, plus "
            "`GET /ping`), a fresh copy per start, both CPUs; RSS 2 s after the first 200 OK.\n"
        )
        roles = sorted({r for p in st["points"] for r in p["idle_by_role_mb"]})
        w(
            table(
                ["steps", "cold start (median)", "starts", "idle RSS", *roles],
                [
                    [
                        str(p["steps"]),
                        f"{p['cold_start_median_s'] * 1000:,.0f} ms",
                        ", ".join(f"{t * 1000:,.0f}" for t in p["cold_start_s"]) + " ms",
                        f"{p['idle_rss_mb']:.0f} MB",
                        *[f"{p['idle_by_role_mb'].get(r, 0):.0f} MB" for r in roles],
                    ]
                    for p in st["points"]
                ],
            )
        )
        for key, label, unit in (("cold_start_median_s", "cold start", 1000), ("idle_rss_mb", "idle RSS", 1)):
            m = st.get("growth", {}).get(key)
            if m:
                u = "ms" if unit == 1000 else "MB"
                w(
                    f"\n{label}: ×{m['y_factor']:.2f} for ×{m['x_factor']:.0f} steps; per added step "
                    f"{m['first_slope'] * unit:.3g} {u} on the first segment, "
                    f"{m['last_slope'] * unit:.3g} {u} on the last."
                )
        w("")
    rt = cv.get("routes")
    if rt and rt.get("runs"):
        w("### API throughput against the number of routes\n")
        w(
            "Two servers side by side, 10 and 1,000 TypeScript API routes (half static `/s/<i>`, half "
            "`/items/:id/v<i>` under one prefix); wrk c16 on the last route of each kind, "
            f"{rt['rounds']} interleaved rounds of {rt['seconds']:g} s; medians.\n"
        )
        rows = []
        for kind, by_n in rt["runs"].items():
            for n, runs in by_n.items():
                med = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
                rows.append(
                    [
                        kind,
                        n,
                        num(med["rps"]),
                        ms(med["p50_us"]),
                        ms(med["p99_us"]),
                        f"{med['cpu_us_per_request'] or 0:.0f} µs",
                    ]
                )
            r = rt.get("ratio", {}).get(kind)
            if r:
                rows.append([kind, "**1,000 / 10**", f"**{100 * r['rps']:.0f} %**", "", "", f"{100 * r['cpu']:.0f} %"])
        w(table(["route", "routes", "req/s", "p50", "p99", "CPU / request"], rows))
        w("")
    bl = cv.get("backlog")
    if bl and bl.get("points"):
        w("### Event throughput against the queue backlog (SQLite)\n")
        w(
            f"The chain API → TS → Python → JS at k{bl['k']} for {bl['seconds']:g} s, with N events already waiting "
            f"in .motia/queue.db on `{bl['subscription']}` (no step consumes it), written through "
            "`SqliteQueue.enqueue_many` before the core starts; checked untouched afterwards. One core per point, "
            "side by side, measured in interleaved rounds: the median run, and *of empty* = the median of the "
            "per-round ratios to the empty queue's core.\n"
        )
        w(
            table(
                [
                    "waiting",
                    "queue.db",
                    "core ready",
                    "chains/s",
                    "events/s",
                    "of empty",
                    "e2e p50",
                    "p99",
                    "core CPU / chain",
                    "lost",
                ],
                [
                    [
                        f"{p['backlog']:,}",
                        f"{p['db_mb']:.0f} MB",
                        f"{p['start_s']:.1f} s",
                        num(p["chains_per_s"]),
                        num(p["events_per_s"]),
                        "–" if p.get("of_empty") is None else f"{100 * p['of_empty']:.0f} %",
                        ms(p["p50_us"]),
                        ms(p["p99_us"]),
                        ms(p["core_cpu_us_per_chain"]),
                        str(p["lost"]),
                    ]
                    for p in bl["points"]
                ],
            )
        )
        w("")
    fo = cv.get("fanout")
    if fo and fo.get("points"):
        w("### Stream fan-out against clients\n")
        w(
            "One core on bench/projects/streams; for each N, N WebSocket clients (bench/benchlib/streamload.py, "
            "on the load CPU) join one group and a TypeScript step writes to it at "
            f"{num(fo['deliveries_per_s_budget'])} / N "
            f"writes/s for {fo['seconds']:g} s, so every point delivers the same messages per second. Latency = write "
            "sent to frame received, per client and message; to the last client = until every client had it. "
            "*core CPU idle*: the core with the N clients joined "
            "and nothing written for 3 s (aiohttp's 30 s WebSocket heartbeat per client); *above idle*: the core's "
            "CPU per delivery less that idle cost. "
            f"Open-files limit {fo['fd_limit'][0]:,} (hard {fo['fd_limit'][1]:,}).\n"
        )
        w(
            table(
                [
                    "clients",
                    "join",
                    "writes/s",
                    "deliveries/s",
                    "p50",
                    "p99",
                    "to last client p50",
                    "core CPU / delivery",
                    "core CPU idle",
                    "CPU / delivery above idle",
                    "core RSS / client",
                    "lost",
                ],
                [
                    [
                        f"{p['clients']:,}",
                        f"{p['connect_and_join_s'] or 0:.1f} s",
                        num(p["writes_per_s"], 1),
                        num(p["delivered_per_s"]),
                        ms((p["latency_us"] or {}).get("p50")),
                        ms((p["latency_us"] or {}).get("p99")),
                        ms((p["latency_all_clients_us"] or {}).get("p50")),
                        "–" if p["core_cpu_us_per_delivery"] is None else f"{p['core_cpu_us_per_delivery']:.1f} µs",
                        "–" if p.get("core_idle_cpu_pct") is None else f"{p['core_idle_cpu_pct']:.1f} %",
                        "–"
                        if p.get("core_cpu_us_per_delivery_net") is None
                        else f"{p['core_cpu_us_per_delivery_net']:.1f} µs",
                        "–" if p["core_rss_kb_per_client"] is None else f"{p['core_rss_kb_per_client']:.0f} KB",
                        str(p["lost"]),
                    ]
                    for p in fo["points"]
                ],
            )
        )
        w("")


def scale_charts(res: dict[str, Any], out: Path) -> list[str]:
    """PNG charts of the curves and the soak (matplotlib, as report_charts.py)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made: list[str] = []
    cv = res.get("curves") or {}

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made.append(name)

    st = (cv.get("steps") or {}).get("points")
    if st:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        xs = [p["steps"] for p in st]
        a.plot(xs, [p["cold_start_median_s"] * 1000 for p in st], "o-", color="#1c7ed6")
        a.set(xlabel="steps", ylabel="cold start (ms)", title="Cold start vs steps")
        b.plot(xs, [p["idle_rss_mb"] for p in st], "o-", color="#2b8a3e", label="total")
        for role in sorted({r for p in st for r in p["idle_by_role_mb"]}):
            b.plot(xs, [p["idle_by_role_mb"].get(role, 0) for p in st], ".--", label=role)
        b.set(xlabel="steps", ylabel="RSS (MB)", title="Idle RSS vs steps")
        b.legend(fontsize=7)
        for ax in (a, b):
            ax.grid(True, alpha=0.3)
        save(fig, "curve-steps.png")
    rt = (cv.get("routes") or {}).get("runs")
    if rt:
        fig, ax = plt.subplots(figsize=(7, 4))
        labels, vals = [], []
        for kind, by_n in rt.items():
            for n, runs in by_n.items():
                labels.append(f"{kind}\n{n} routes")
                vals.append(sorted(r["rps"] for r in runs)[len(runs) // 2])
        ax.bar(range(len(vals)), vals, color=["#74c0fc", "#1c7ed6"] * (len(vals) // 2 + 1))
        ax.set_xticks(range(len(vals)), labels, fontsize=8)
        ax.set(ylabel="req/s (c16)", title="API throughput vs number of routes")
        ax.grid(True, axis="y", alpha=0.3)
        save(fig, "curve-routes.png")
    bl = (cv.get("backlog") or {}).get("points")
    if bl:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot([max(1, p["backlog"]) for p in bl], [p["events_per_s"] for p in bl], "o-", color="#862e9c")
        _log_x(ax, [max(1, p["backlog"]) for p in bl])
        ax.set(xlabel="waiting events (log; 0 drawn at 1)", ylabel="events/s (chain, k16)")
        ax.set_title("Event throughput vs queue backlog")
        ax.set_ylim(bottom=0)
        ax.grid(True, which="both", alpha=0.3)
        save(fig, "curve-backlog.png")
    fo = (cv.get("fanout") or {}).get("points")
    if fo:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        xs = [p["clients"] for p in fo]
        a.plot(xs, [p["core_cpu_us_per_delivery"] or 0 for p in fo], "o-", color="#e03131")
        a.set(xlabel="clients (log)", ylabel="core CPU µs per delivery", title="Fan-out: core CPU per delivery")
        a.set_ylim(bottom=0)
        for key, label, style in (
            ("latency_us", "p50 per client", "o-"),
            ("latency_all_clients_us", "p50 to the last client", "s--"),
        ):
            b.plot(xs, [(p[key] or {}).get("p50", 0) / 1000 for p in fo], style, label=label)
        b.plot(xs, [(p["latency_us"] or {}).get("p99", 0) / 1000 for p in fo], "^-", label="p99 per client")
        b.set(xlabel="clients (log)", ylabel="ms", title="Fan-out: delivery latency")
        b.set_yscale("log")
        b.legend(fontsize=7)
        for ax in (a, b):
            _log_x(ax, xs)
        save(fig, "curve-fanout.png")
    soak = res.get("soak") or {}
    if soak.get("samples"):
        fig, ax = plt.subplots(figsize=(8, 4.4))
        for name in soak["samples"][0]["rss"]:
            pts = [(s["t"] / 60, s["rss"][name]) for s in soak["samples"] if name in s["rss"]]
            ax.plot([t for t, _ in pts], [v for _, v in pts], "-", label=name)
        ax.set(xlabel="minutes", ylabel="RSS (MB)", title=f"Soak: RSS per process, {soak['seconds']:.0f} s mixed load")
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
        save(fig, "soak-rss.png")
    return made


def _log_x(ax: Any, xs: list[int]) -> None:
    """A log x axis labelled at the measured points only (matplotlib's minor labels overlap)."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
