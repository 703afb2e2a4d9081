"""The targets the report checks (met, missed, not measured), computed from results.json."""

from __future__ import annotations

import statistics
from typing import Any

from benchlib import report_classic, report_record, report_redis, report_session, report_why
from benchlib.report_chain import chain_rate
from benchlib.report_format import LANGS, ms, num, pct, ratio


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    s = res["summary"]["api"]
    out: list[dict[str, Any]] = []

    def add(name: str, status: str, measured: str, detail: str = "", why: str = "") -> None:
        row = {"target": name, "status": status, "measured": measured, "detail": detail}
        if why and status == "missed":  # the floor or budget behind the gap (report_why.py)
            row["why"] = why
        out.append(row)

    langs = [lang for lang in ("ts", "py") if "16" in s.get(lang, {})]
    # 1. x classic Motia at c16
    xs = {lang: s[lang]["16"].get("x_classic") for lang in langs}
    if langs and all(v is not None for v in xs.values()):
        add(
            "API step throughput at c16 ≥ 500× classic Motia (TS, Python)",
            "met" if all(v >= 500 for v in xs.values()) else "missed",
            ", ".join(f"{LANGS[k]} {ratio(v)}" for k, v in xs.items()),
            why=report_classic.x_classic_why(res),
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
            why=report_why.bare_share(res),
        )
    # Ruby and JavaScript against TypeScript
    par = report_why.parity(res)
    if par:
        out.append(par)
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
                why=report_why.c1_split(res) if c == "1" else report_why.c16_little(res),
            )
    # 4. chains
    queue = res["meta"].get("queue", {})
    mc = res.get("chain", {}).get("16")
    cl = res.get("classic", {}).get("chain", {}).get("16")
    name = "Durable three-hop chains/s ≥ 200× classic Motia (k16)"
    cl_rate, cl_how = chain_rate(cl) if cl else (0.0, "")
    if mc and cl_rate:
        x = mc["per_s"] / cl_rate
        status = ("met" if x >= 200 else "missed") if queue.get("durable") else "n/a (in-memory queue measured)"
        add(
            name,
            status,
            f"{ratio(x)} ({num(mc['per_s'])} vs {num(cl_rate, 2)} chains/s, "
            f"queue: {queue.get('description', '?')}"
            + (f"; classic Motia: {cl_how}" if cl_how else f"; classic Motia over {cl.get('window_s', 8):.0f} s")
            + ")",
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
            why=report_why.cold_start(res),
        )
    # 6. idle RSS
    mc_idle = res.get("cold_start", {}).get("motia_core", {}).get("idle")
    cl_idle = res.get("classic", {}).get("idle")
    if mc_idle and cl_idle:
        # each page once when both have it (bench/README.md, "Resources: idle memory"), else the RSS sums
        key = "unique_mb" if mc_idle.get("unique_mb") and cl_idle.get("unique_mb") else "rss_mb"
        add(
            "Idle RSS of core + runners ≤ half of classic Motia's",
            "met" if mc_idle[key] <= cl_idle[key] / 2 else "missed",
            f"{mc_idle[key]:.0f} MB vs {cl_idle[key]:.0f} MB ({100 * mc_idle[key] / cl_idle[key]:.0f} %"
            + (", each page once; RSS sums " if key == "unique_mb" else ", RSS sums")
            + (f"{mc_idle['rss_mb']:.0f} vs {cl_idle['rss_mb']:.0f} MB)" if key == "unique_mb" else ")"),
            why=report_why.idle_rss(res),
        )
    elif mc_idle:
        add(
            "Idle RSS of core + runners ≤ half of classic Motia's",
            "not measured",
            f"motia-core {mc_idle['rss_mb']:.0f} MB; classic Motia did not run",
        )
    body = report_why.bodies(res)
    if body:
        out.append(body)
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
    session = report_session.session_target(res)
    if session:
        add(session["target"], session["status"], session["measured"])
    out += report_record.targets(res)
    out += report_redis.targets(res)
    return out
