"""The redis scenario in the report: per-system figures (median of the interleaved rounds), the two
issue-9 targets (Redis-1 ≥ 50 % of BullMQ, Redis-2 ≥ 1.7× Redis-1) and the section's markdown."""

from __future__ import annotations

import statistics
from typing import Any

from benchlib.report_format import P, ms, num, pct, ratio, table

NAMES = {
    "sqlite-1": "motia-core, SQLite, 1 instance",
    "redis-1": "motia-core, Redis, 1 instance",
    "redis-2": "motia-core, Redis, 2 instances",
    "redis-2-k32": "motia-core, Redis, 2 instances, k32 (16 per instance)",
    "bullmq": "BullMQ (bench/bullmq/chain.mjs)",
}
HOPS = 3
CPU_BOUND = 0.9  # a system using less of its CPU than this is limited by something else (Redis round trips)


def _cores(resources: dict[str, Any]) -> float:
    """CPU the sampled process tree used in a run, in cores (1.0 = one CPU busy the whole window)."""
    return float(sum(r["cpu_pct"] for r in resources.get("by_role", {}).values()) / 100)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["per_s"])
    return ordered[(len(ordered) - 1) // 2]


def summary(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per system: the median run's figures and, per round, chains/s (for the paired ratios)."""
    out: dict[str, dict[str, Any]] = {}
    for name, runs in (res.get("redis") or {}).get("runs", {}).items():
        runs = [r for r in runs if r.get("latency_us")]
        if not runs:
            continue
        m = _median_run(runs)
        inst = m.get("instances") or []
        cores = sum(_cores(i) for i in inst)
        per_s = m["per_s"]
        by_role: dict[str, float] = {}
        for i in inst:
            for role, r in i.get("by_role", {}).items():
                by_role[role] = by_role.get(role, 0.0) + r["cpu_pct"] / 100
        out[name] = {
            "k": m["concurrency"],
            "per_s": per_s,
            # CPU time on CPU 0 (every single instance's CPU) that the measured system did not use: the idle
            # systems and whatever else ran on this shared machine
            "other_load_pct": (inst[0].get("foreign_pct_on_server_cpus") if inst else None),
            "per_s_rounds": [r["per_s"] for r in runs],
            "latency_us": m["latency_us"],
            "lost": sum(r["lost"] for r in runs),
            "api_errors": sum(r["api_errors"] for r in runs),
            "instances": len(inst) or 1,
            "cores": cores,
            "cpu_us_per_chain": cores / per_s * 1e6 if per_s and cores else None,
            "cpu_us_per_chain_by_role": {k: v / per_s * 1e6 for k, v in by_role.items()} if per_s else {},
            "redis_cpu_us_per_chain": _cores(m["redis_server"]) / per_s * 1e6
            if per_s and m.get("redis_server")
            else None,
            "redis_commands_per_chain": m.get("redis_commands_per_chain"),
        }
    return out


def _pairs(s: dict[str, dict[str, Any]], a: str, b: str) -> list[float]:
    """a's chains/s / b's chains/s, round by round (rounds interleave the systems, seconds apart)."""
    if a not in s or b not in s:
        return []
    return [x / y for x, y in zip(s[a]["per_s_rounds"], s[b]["per_s_rounds"], strict=False) if y]


def _paired(s: dict[str, dict[str, Any]], a: str, b: str) -> float | None:
    """The median of the per-round ratios."""
    pairs = _pairs(s, a, b)
    return statistics.median(pairs) if pairs else None


def _rounds(s: dict[str, dict[str, Any]], a: str, b: str, fmt: Any) -> str:
    pairs = _pairs(s, a, b)
    return f"; per round {', '.join(fmt(x) for x in pairs)}" if len(pairs) > 1 else ""


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    red = res.get("redis")
    if not red:
        return []
    s = summary(res)
    out: list[dict[str, Any]] = []
    name = "Redis, 1 instance: three-hop chains/s ≥ 50 % of BullMQ's (k16, same redis-server)"
    x = _paired(s, "redis-1", "bullmq")
    if x is not None:
        out.append(
            {
                "target": name,
                "status": "met" if x >= 0.5 else "missed",
                "measured": f"{pct(x)} (median run {num(s['redis-1']['per_s'])} vs {num(s['bullmq']['per_s'])} "
                f"chains/s{_rounds(s, 'redis-1', 'bullmq', pct)})",
                "detail": "",
                **({"why": one_why(s)} if x < 0.5 else {}),
            }
        )
    else:
        why = red.get("bullmq_status") or "a run is missing (see Not run or failed)"
        out.append({"target": name, "status": "not measured", "measured": why, "detail": ""})
    name = "Redis, 2 instances: chains/s ≥ 1.7× one instance, each on its own CPU (k16)"
    x = _paired(s, "redis-2", "redis-1")
    if x is None:
        out.append({"target": name, "status": "not measured", "measured": "a run is missing", "detail": ""})
        return out
    proj = projection(s)
    measured = (
        f"{ratio(x)} (median run {num(s['redis-2']['per_s'])} vs {num(s['redis-1']['per_s'])} chains/s"
        f"{_rounds(s, 'redis-2', 'redis-1', ratio)})"
    )
    x32 = _paired(s, "redis-2-k32", "redis-1")
    if x32 is not None:
        measured += f"; at k32 (16 per instance) {ratio(x32)}"
    if proj is not None:
        measured += f"; CPU-bound projection from CPU per chain: {ratio(proj)}"
    if red.get("own_cpus"):
        status = "met" if x >= 1.7 else "missed"
    else:
        status = "n/a (fewer than 4 CPUs)"
        measured += "; the 2nd instance shared its CPU with redis-server and the driver"
    out.append({"target": name, "status": status, "measured": measured, "detail": ""})
    return out


def one_why(s: dict[str, dict[str, Any]]) -> str:
    """Redis-1 against BullMQ: CPU per chain by process (ours: core + two runtimes; BullMQ: one node
    process), what 50 % at equal CPU would allow, redis-server's share and commands per chain, and how
    far BullMQ's own rounds moved."""
    one, bull = s["redis-1"], s["bullmq"]
    mine, theirs = one["cpu_us_per_chain"], bull["cpu_us_per_chain"]
    if not mine or not theirs:
        return "no CPU per chain in this run"
    roles = one["cpu_us_per_chain_by_role"]
    text = (
        f"CPU per chain on CPU 0: ours {ms(mine)} ("
        + ", ".join(f"{r} {ms(v)}" for r, v in sorted(roles.items(), key=lambda kv: -kv[1]))
        + f"; {one['cores']:.2f} of a CPU used) vs BullMQ's {ms(theirs)} (one node process, {bull['cores']:.2f} "
        + ("of a CPU used: it is not CPU-bound there" if bull["cores"] < CPU_BOUND else "of a CPU used")
        + f"); 50 % of BullMQ at equal CPU allows {ms(2 * theirs)}, "
        f"{ms(mine - 2 * theirs)} less than ours"
        if mine > 2 * theirs
        else f"CPU per chain on CPU 0: ours {ms(mine)} vs BullMQ's {ms(theirs)}"
    )
    r1, rb = one["redis_cpu_us_per_chain"], bull["redis_cpu_us_per_chain"]
    c1, cb = one["redis_commands_per_chain"], bull["redis_commands_per_chain"]
    if r1 and rb and c1 and cb:
        text += (
            ("; Redis is not the gap: " if c1 <= cb and r1 <= rb else "; Redis: ")
            + f"{num(c1, 1)} vs {num(cb, 1)} commands per chain, redis-server {ms(r1)} vs "
            f"{ms(rb)} CPU per chain (with it, all processes: {ms(mine + r1)} vs {ms(theirs + rb)}, "
            f"{pct((theirs + rb) / (mine + r1))} per CPU)"
        )
    rounds = bull["per_s_rounds"]
    if len(rounds) > 1:
        mid = sum(rounds) / len(rounds)
        text += (
            f"; BullMQ's rounds: {', '.join(num(v) for v in rounds)} chains/s "
            f"(±{pct((max(rounds) - min(rounds)) / 2 / mid)} of their mean; half of each: "
            + ", ".join(num(v / 2) for v in rounds)
            + "), ours "
            + ", ".join(num(v) for v in one["per_s_rounds"])
        )
    return text + " (section *Event chain on Redis*)"


def projection(s: dict[str, dict[str, Any]]) -> float | None:
    """What 2 instances would reach over 1 if each had a whole CPU and nothing else limited them:
    2 × (instance CPU per chain with 1 instance) / (with 2). It reads what a chain costs more with two
    instances (coordination, and smaller batches per Redis call when the same k is split over two);
    it is not a measurement."""
    one = s.get("redis-1", {}).get("cpu_us_per_chain")
    two = s.get("redis-2", {}).get("cpu_us_per_chain")
    return 2 * one / two if one and two else None


def _rounds_text(rounds: int) -> str:
    how = (
        "every system in turn is started, warmed up, measured and stopped, so nothing else of the scenario "
        "runs beside it"
    )
    if rounds <= 1:
        return f"One round: {how}."
    median = "of two: the slower" if rounds == 2 else f"of {rounds}"
    return (
        f"In each of {rounds} rounds {how}; a system's figures are its median run ({median}), a ratio is the "
        "median of the per-round ratios."
    )


def render_redis(res: dict[str, Any], w: Any) -> None:
    red = res.get("redis")
    if not red:
        return
    s = summary(res)
    if not s:
        return
    k = red.get("k", 16)
    w("## Event chain on Redis: 1 and 2 instances, next to SQLite and BullMQ\n")
    srv = red.get("redis_server", {})
    w(
        f"The chain of the section above (`POST /chain` → TS → Python → JS → UDP report, closed loop, k{k}) on "
        f"`motia-core serve` with its default SQLite, with `--redis` (1 instance) and with 2 instances on one "
        f"`--redis-prefix` (the driver's {k} users alternate between their ports; any instance may run any hop). "
        f"The anchor is the same 3-hop chain of no-op jobs in BullMQ {red.get('bullmq_version', '')}".rstrip()
        + " (bench/bullmq/chain.mjs, one Node process: an HTTP entry that adds job 1 to queue A and answers 202, "
        "workers A→B→C, C reports to the same UDP sink; classic Motia's adapter job options; worker concurrency "
        f"{k}), driven by the same driver. One redis-server {srv.get('version', '')} started by the bench on a free "
        f"loopback port ({srv.get('persistence', '')}) serves every Redis run. {_rounds_text(red.get('rounds', 1))}\n"
    )
    w(f"Layout: {red.get('layout', '?')}.\n")
    rows = []
    for name in NAMES:
        e = s.get(name)
        if not e:
            continue
        lat = e["latency_us"]
        other = e["other_load_pct"]
        rows.append(
            [
                NAMES[name],
                str(e["k"]),
                num(e["per_s"]),
                num(e["per_s"] * HOPS),
                *[ms(lat.get(p)) for p in P],
                str(e["lost"]) + (f" ({e['api_errors']} API errors)" if e["api_errors"] else ""),
                f"{e['cores']:.2f}",
                ms(e["cpu_us_per_chain"]),
                ms(e["redis_cpu_us_per_chain"]) if name != "sqlite-1" else "–",
                num(e["redis_commands_per_chain"], 1) if name != "sqlite-1" and e["redis_commands_per_chain"] else "–",
                "–" if other is None else f"{other:.0f} %",
            ]
        )
    w(
        table(
            [
                "system",
                "k",
                "chains/s",
                "events/s",
                "e2e p50",
                "p90",
                "p99",
                "p99.9",
                "lost",
                "CPUs used",
                "CPU / chain",
                "redis-server CPU / chain",
                "Redis commands / chain",
                "other load on CPU 0",
            ],
            rows,
        )
    )
    w(
        "\n*CPUs used*: CPU time of the system's processes (core + runners per instance, or BullMQ's node "
        "process) over the run's wall time. *CPU / chain* is that time per chain; *redis-server CPU / chain* "
        "likewise for the shared redis-server; *Redis commands / chain*: `total_commands_processed` over the run "
        "(its warm-up second included; commands inside Lua scripts count, as Redis counts them) per reported chain; "
        "only the measured system talks to Redis meanwhile. *other load on CPU 0*: busy time of CPU 0 (the CPU of "
        "every single instance) that the measured system's processes did not use: whatever else ran on this shared "
        "machine (a system that leaves CPU 0 idle lets other work in)."
    )
    ratios = []
    for a, b, label in (
        ("redis-1", "bullmq", "Redis-1 / BullMQ"),
        ("redis-2", "redis-1", "Redis-2 / Redis-1"),
        ("redis-2-k32", "redis-1", "Redis-2 at k32 / Redis-1"),
        ("redis-1", "sqlite-1", "Redis-1 / SQLite-1"),
    ):
        x = _paired(s, a, b)
        if x is not None:
            ratios.append(f"{label} {ratio(x)}")
    if ratios:
        w("\nChains/s ratios (same run): " + "; ".join(ratios) + ".")
    proj = projection(s)
    if proj is not None:
        one, two = s["redis-1"], s["redis-2"]
        w(
            f"\nCPU per chain of the motia-core instances: {ms(one['cpu_us_per_chain'])} with 1 instance, "
            f"{ms(two['cpu_us_per_chain'])} with 2. If each instance had a whole CPU and Redis and the driver had "
            f"their own, 2 instances would reach about {ratio(proj)} one instance's chains/s (2 × the ratio of CPU "
            "per chain): a projection, not a measurement; it holds only while Redis and the driver keep up. CPU "
            "per chain grows when an instance has fewer chains in flight (each Redis call carries fewer events): "
            "compare the k32 row."
        )
    by_role = {n: s[n]["cpu_us_per_chain_by_role"] for n in ("sqlite-1", "redis-1") if n in s}
    if by_role:
        roles = sorted({r for v in by_role.values() for r in v}, key=lambda r: (r != "core", r))
        w("\nCPU per chain by process (1 instance):\n")
        w(
            table(
                ["process", *[NAMES[n] for n in by_role]],
                [[role, *[ms(by_role[n].get(role)) for n in by_role]] for role in roles],
            )
        )
    idle = red.get("idle")
    if idle:
        w(
            "\nIdle, just started (1.5 s, nothing posted): "
            + "; ".join(
                f"{NAMES[n]} {v['cpu_pct']:.1f} % of a CPU, {num(v['redis_commands_per_s'])} Redis commands/s"
                for n, v in idle.items()
            )
            + ". An idle Redis-backed instance blocks on its streams and renews a liveness key every 2 s"
            + " (docs/adapters.md); BullMQ's workers block on Redis."
        )
    profs = {n: p for n, p in (red.get("profile") or {}).items() if isinstance(p, dict) and p.get("buckets")}
    if profs:
        w("\n### Where a single instance's core spends its time (py-spy, chain k16)\n")
        w(
            "`py-spy record --native --threads -r 100 -d 5` on the core of the SQLite-1 and the Redis-1 instance "
            "under the same chain load, last round (raw stacks in profile-core-<system>-chain.txt next to this "
            "report). Percentages are of the main thread's samples: compare shares, not totals.\n"
        )
        names = list(profs)
        buckets = {n: {b["bucket"]: b["pct"] for b in p["buckets"]} for n, p in profs.items()}
        order = sorted(
            {b for v in buckets.values() for b in v}, key=lambda b: -max(v.get(b, 0.0) for v in buckets.values())
        )
        w(
            table(
                ["where (innermost attributable frame)", *[NAMES[n] for n in names]],
                [[b, *[f"{buckets[n].get(b, 0.0):.1f} %" for n in names]] for b in order],
            )
        )
        groups = {n: p.get("inclusive_groups") or {} for n, p in profs.items()}
        if any(groups.values()):
            w(
                "\nThe buckets above file a sample under its innermost frame, so redis-py's socket I/O lands in "
                "*asyncio / uvloop*. Share of the samples whose stack passes through each part, whatever the "
                "innermost frame:\n"
            )
            names_g = list(next(g for g in groups.values() if g))
            w(
                table(
                    ["stack passes through", *[NAMES[n] for n in names]],
                    [[g, *[f"{groups[n].get(g, 0.0):.1f} %" for n in names]] for g in names_g],
                )
            )
        for n, p in profs.items():
            callers = p.get("redis_callers")
            if callers:
                w(
                    f"\nTime in redis-py by the motia_core function that called it ({NAMES[n]}, share of the "
                    "samples): " + "; ".join(f"`{c}` {v:.1f} %" for c, v in callers.items()) + "."
                )
        for n, p in profs.items():
            w(f"\nTop frames of the {NAMES[n]} core, self time / inclusive:\n")
            self_rows = p["self"][:12]
            incl_rows = p["inclusive"][:12]
            rows = []
            for i in range(max(len(self_rows), len(incl_rows))):
                row: list[str] = []
                for frames in (self_rows, incl_rows):
                    f = frames[i] if i < len(frames) else None
                    row += [f"`{f['frame']}`", f"{f['pct']:.1f} %"] if f else ["", ""]
                rows.append(row)
            w(table(["frame (self)", "self", "frame (inclusive)", "inclusive"], rows))
    w("")
