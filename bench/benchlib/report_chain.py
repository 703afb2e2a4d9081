"""The report's event chain section (API → TS → Python → JS on the durable SQLite queue): the chains
table next to classic Motia's, and where one hop's time goes (CPU per hop by process, the queue's
SQLite commits per hop, wake-ups per hop), all measured in the chain runs themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchlib.report_format import P, ms, num, ratio, table

HOPS = 3  # the three event hops of the chain; the API step that starts it is not a hop
HOP_ROLES = (("core", "core"), ("node runner", "Node runner (TS, JS)"), ("python runner", "Python runner"))


def render_chain(res: dict[str, Any], w: Callable[[str], None], queue_description: str) -> None:
    ch = res.get("chain")
    if not ch:
        return
    w("## Event chain: API → TypeScript → Python → JavaScript\n")
    w(
        "`POST /chain` (TypeScript API step) emits `bench.chain.a`; a TypeScript, a Python and a JavaScript "
        "event step each forward it; the last one reports the id over UDP to the driver (bench/benchlib/"
        "chainload.py). k = chains in flight (closed loop over whole chains); chains/s = k / mean end-to-end "
        "time (Little's law, exact for a closed loop in steady state, also when one chain takes longer than "
        "the window, as under classic Motia); events/s = chains/s × hops. End-to-end = POST sent to report "
        f"received. Queue: **{queue_description}**.\n"
    )
    rows = [_row("motia-core", k, r, HOPS) for k, r in ch.items()]
    rows += [_row("motia-core, + Ruby hop (4 hops)", k, r, 4) for k, r in res.get("chain_ruby", {}).items()]
    cl = res.get("classic", {}).get("chain", {})
    rows += [_row("classic Motia", k, r, HOPS, digits=1, rate=chain_rate(r)[0]) for k, r in cl.items()]
    w(table(["system", "k", "chains/s", "events/s", "e2e p50", "p90", "p99", "p99.9", "lost"], rows))
    extended = [
        f"k{k}: {r['samples']} of the chains started after the {_warm(r)} warm-up completed, in a window of "
        f"{r['window_s']:.1f} s" + (f" ({chain_rate(r)[1]})" if chain_rate(r)[1] else "")
        for k, r in cl.items()
        if r.get("min_samples") and r.get("window_s")
    ]
    if extended:
        w(
            "\nClassic Motia's window: past its 8 s the driver goes on until k chains started after the "
            "warm-up have completed, one whole steady-state wave (one k16 chain takes longer than 8 s: "
            "a fixed window saw none complete); " + "; ".join(extended) + "."
        )
    xs = [
        f"k{k}: {ratio(ch[k]['per_s'] / chain_rate(cl[k])[0])} the chains/s"
        + (
            f", p50 {ratio(cl[k]['latency_us']['p50'] / ch[k]['latency_us']['p50'])} lower"
            if cl[k]["latency_us"] and ch[k]["latency_us"]
            else ""
        )
        for k in ch
        if k in cl and chain_rate(cl[k])[0]
    ]
    if xs:
        w("\nmotia-core vs classic Motia: " + "; ".join(xs) + ".")
    w("")
    render_hop_costs(ch, w)


def chain_rate(r: dict[str, Any]) -> tuple[float, str]:
    """A run's chains/s and, when it is not Little's law over the measured chains, how it was found.
    Little's law needs every chain's cycle: when some were never reported within the driver's timeout
    (lost), the ones measured are the fast ones and k / their mean would overstate the rate; then, or
    when none was measured, the rate is the reports received in the window (a completion rate,
    whichever chains they were)."""
    if r.get("per_s") and not r.get("lost"):
        return float(r["per_s"]), ""
    if r.get("per_s_reports"):
        why = (
            f"{r['lost']} chains not reported within the driver's timeout"
            if r.get("lost")
            else "no chain started after the warm-up completed"
        )
        return float(r["per_s_reports"]), (
            f"{why}, so chains/s = the {r['reports_in_window']} reports received in the window / {r['window_s']:.1f} s"
        )
    return float(r.get("per_s") or 0.0), ""


def render_hop_costs(ch: dict[str, Any], w: Callable[[str], None]) -> None:
    """Per hop: CPU of each process, the queue's commits, the core's context switches (its wake-ups)."""
    rows = []
    for k, r in ch.items():
        res, chains = r.get("resources"), r.get("reports") or 0
        if not res or not chains:
            continue
        hops = chains * HOPS
        wall = res["wall_s"]
        by_role = res["by_role"]
        cpu = [by_role.get(role, {}).get("cpu_pct", 0.0) / 100 * wall / hops * 1e6 for role, _ in HOP_ROLES]
        commits = r.get("queue_commits")
        core_ctx = by_role.get("core", {}).get("ctx_switches")
        rows.append(
            [
                k,
                *[f"{us:,.0f} µs" for us in cpu],
                f"{sum(cpu):,.0f} µs",
                f"{commits / hops:.2f}" if commits is not None else "–",
                f"{core_ctx / hops:.1f}" if core_ctx is not None else "–",
                f"{by_role.get('core', {}).get('cpu_pct', 0.0):.0f} %",
                f"{res['foreign_pct_on_server_cpus']:.0f} %"
                if res.get("foreign_pct_on_server_cpus") is not None
                else "–",
            ]
        )
    if not rows:
        return
    w("### Where a hop's time goes\n")
    w(
        "Measured in the chain runs above: CPU time of each process over the run (warm-up included) per "
        "reported chain, divided by its 3 event hops (the API step that starts a chain is counted in it), "
        "so a hop here carries a third of the entry call. *Queue commits*: SQLite transactions committed "
        "to .motia/queue.db over the run (the WAL index's change counter in queue.db-shm, read before and "
        "after) per hop: enqueue, lease and ack each commit, and batching shares one commit among several "
        "events. *Core wake-ups*: the core's context switches (all its threads) per hop. *core busy*: the "
        "core's CPU over the run, in % of one CPU (below 100 %: the chain waits on something else than the "
        "core's CPU). *other load*: busy time of the servers' CPU that the core and its runners did not use (a "
        "shared machine's other work; it inflates every figure of the row).\n"
    )
    w(
        table(
            [
                "k",
                *[f"{label} CPU / hop" for _, label in HOP_ROLES],
                "all / hop",
                "queue commits / hop",
                "core wake-ups / hop",
                "core busy",
                "other load",
            ],
            rows,
        )
    )
    w("")


def _row(system: str, k: str, r: dict[str, Any], hops: int, digits: int = 0, rate: float | None = None) -> list[str]:
    per_s = r["per_s"] if rate is None else rate
    return [
        system,
        k,
        num(per_s, digits),
        num(per_s * hops, digits),
        *[ms(r["latency_us"].get(p)) for p in P],
        str(r["lost"]),
    ]


def _warm(r: dict[str, Any]) -> str:
    return f"{r['warmup_s']:g} s" if r.get("warmup_s") is not None else "warm-up"
