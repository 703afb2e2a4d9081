"""Why a target of the report's Targets table was missed: for each missed row a short pointer to the
floor or the budget behind the gap, computed from the same run's data (issue 15, "Done when": a target
not met is explained by its profile and floor experiment). Also the Ruby / JavaScript parity row.

Every figure here is derived from results.json; nothing is typed in.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchlib.report_bodies import TARGET as BODIES_TARGET
from benchlib.report_floor import TARGET_SHARE, floor_budget
from benchlib.report_format import LANGS, RUNNER_OF, cpu_per_request, cpu_us, ms, num, pct
from benchlib.spread import Spread, spread

PARITY = 0.8  # issue 15: "Ruby and JavaScript within 80 % of TypeScript"
ADDED_P50_US = 1000.0  # the latency targets: added p50 <= 1 ms


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def parity_runs(res: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """The c16 runs per language the parity row compares, round by round, and where they come from: the
    dedicated short rounds (suite_api.parity_rounds) when the run has them, else the API matrix's."""
    rounds = res.get("api_parity") or {}
    if rounds.get("ts"):
        return {k: v for k, v in rounds.items() if v}, "short interleaved rounds at c16"
    api = res.get("api", {})
    return {k: api[k]["16"] for k in ("ts", "js", "rb") if api.get(k, {}).get("16")}, "interleaved rounds at c16"


def parity(res: dict[str, Any]) -> dict[str, Any] | None:
    """Ruby and JavaScript against TypeScript at c16: per round the language's req/s / TS's and TS's CPU
    per request (core + runners) / the language's; the median of each over the rounds, with quartiles."""
    runs, source = parity_runs(res)
    ts_runs = runs.get("ts") or []
    langs = [lang for lang in ("js", "rb") if runs.get(lang)]
    if not ts_runs or not langs:
        return None
    by: dict[str, dict[str, Spread | None]] = {}
    n = 0
    for lang in langs:
        pairs = list(zip(runs[lang], ts_runs, strict=False))
        n = max(n, len(pairs))
        rps = [a["rps"] / b["rps"] for a, b in pairs if b["rps"]]
        cpu = [cb / ca for a, b in pairs if (ca := cpu_us(a)) and (cb := cpu_us(b))]
        by[lang] = {"rps": spread(rps), "cpu": spread(cpu)}
    judged = [v.median for e in by.values() for v in e.values() if v is not None]
    status = "met" if judged and min(judged) >= PARITY else "missed"
    measured = (
        "; ".join(
            f"{LANGS[lang]} {_spread_pct(e['rps'])} of TS's req/s, {_spread_pct(e['cpu'])} per CPU µs"
            for lang, e in by.items()
        )
        + f" (median and quartiles of {n} {source})"
    )
    row: dict[str, Any] = {
        "target": "Ruby and JavaScript steps within 80 % of TypeScript's (c16 req/s and per CPU µs)",
        "status": status,
        "measured": measured,
        "detail": "",
    }
    if status == "missed":
        row["why"] = _parity_why(runs, [lang for lang, e in by.items() if min(_v(e)) < PARITY])
    return row


def _spread_pct(s: Spread | None) -> str:
    if s is None:
        return "–"
    return pct(s.median) if s.n < 2 else f"{pct(s.median)} ({pct(s.q1)}–{pct(s.q3)})"


def _v(e: dict[str, Spread | None]) -> list[float]:
    return [v.median for v in (e["rps"], e["cpu"]) if v is not None] or [0.0]


def _median_role_us(runs: list[dict[str, Any]], role: str) -> float | None:
    return _median([v for r in runs if (v := cpu_per_request(r, role)) is not None])


def _parity_why(runs_by: dict[str, list[dict[str, Any]]], langs: list[str]) -> str:
    """Where the slower language's extra CPU per request sits: the core (the same work for every
    language) or its runner."""
    ts = runs_by["ts"]
    core_ts, run_ts = _median_role_us(ts, "core"), _median_role_us(ts, RUNNER_OF["ts"])
    parts = []
    for lang in langs:
        runs = runs_by[lang]
        core, runner = _median_role_us(runs, "core"), _median_role_us(runs, RUNNER_OF[lang])
        if None in (core, runner, core_ts, run_ts):
            continue
        assert core is not None and runner is not None and core_ts is not None and run_ts is not None
        parts.append(
            f"{LANGS[lang]}: core {ms(core)} vs TS's {ms(core_ts)}, {RUNNER_OF[lang]} {ms(runner)} vs node "
            f"runner {ms(run_ts)} per request (c16, medians of the rounds): the gap is "
            + ("the runner" if runner - run_ts >= core - core_ts else "the core's side of the stream")
        )
    return "; ".join(parts) or "no per-process CPU in this run"


# -- why a missed target was missed ----------------------------------------------------------------


def bare_share(res: dict[str, Any]) -> str:
    """50 % of bare: the floor experiment's budget sentence (core without transport vs the budget)."""
    b = floor_budget(res)
    if not b:
        return "floor suite not run (bench/run.py --only floors)"
    text = f"the floor run: {100 * TARGET_SHARE:.0f} % of bare per CPU allows {num(b['budget_us'])} µs per request "
    text += "for core + runner "
    text += f"(bare {b['bare_us']:,.1f} µs); the core without transport, (c), spends {num(b['c_us'])} µs"
    for key, lang in (("e_ts", "TS"), ("e_py", "Python")):
        if key in b["e_us"]:
            text += f", {lang} with gRPC and runner {num(b['e_us'][key])} µs"
    return text + " (section *The floor*)"


def c1_split(res: dict[str, Any]) -> str:
    """c1: one request's wall time (1 / req/s in a closed loop with one connection) split into the
    core's CPU, the runner's CPU and the rest (neither running: wake-ups, wrk, loopback), medians
    over the rounds, next to bare's and to the core's CPU per request at c16."""
    api = res.get("api", {})
    bare = api.get("bare", {}).get("1") or []
    bare_wall = _median([1e6 / r["rps"] for r in bare if r["rps"]])
    bare_cpu = _median([v for r in bare if (v := cpu_us(r)) is not None])
    parts = []
    waits: list[tuple[float, float]] = []  # (wall with neither running, core + runner CPU) per language
    for lang in ("ts", "py"):
        runs = api.get(lang, {}).get("1") or []
        if not runs:
            continue
        wall = _median([1e6 / r["rps"] for r in runs if r["rps"]])
        core = _median_role_us(runs, "core")
        runner = _median_role_us(runs, RUNNER_OF[lang])
        if wall is None or core is None or runner is None:
            continue
        ctx = _median(
            [
                sum(r["resources"]["by_role"].get(x, {}).get("ctx_switches", 0) for x in ("core", RUNNER_OF[lang]))
                / r["requests"]
                for r in runs
                if r.get("requests") and r.get("resources", {}).get("by_role")
            ]
        )
        c16 = _median_role_us(api.get(lang, {}).get("16") or [], "core")
        waits.append((wall - core - runner, core + runner))
        parts.append(
            f"{LANGS[lang]} {ms(wall)} = core CPU {ms(core)} + runner {ms(runner)} + {ms(wall - core - runner)} "
            "with neither running"
            + (f", {ctx:.1f} context switches (core + runner)" if ctx else "")
            + (f"; core CPU {core / c16:.1f}× its c16 figure ({ms(c16)}: no batching at c1)" if c16 else "")
        )
    if not parts:
        return "no c1 runs with per-process CPU"
    head = "one request's wall time at c1 (1 / req/s, medians of the rounds): "
    tail = ""
    if bare_wall is not None and bare_cpu is not None:
        tail = f"; bare {ms(bare_wall)} ({ms(bare_cpu)} CPU)"
        # which of the two grew more than bare's: the CPU on the request's path or the time nobody runs
        cpu_added = max(c - bare_cpu for _, c in waits)
        wait_added = max(w - (bare_wall - bare_cpu) for w, _ in waits)
        tail += (
            ": the added latency is mostly CPU on the request's path"
            if cpu_added >= wait_added
            else ": the added latency is mostly time with neither process running (wake-ups)"
        )
    return head + "; ".join(parts) + tail


def c16_little(res: dict[str, Any]) -> str:
    """c16: Little's law for a closed loop (mean latency = connections / throughput): the p50 the
    measured req/s predicts, the measured p50, and the throughput +1 ms over bare's p50 would need."""
    s = res.get("summary", {}).get("api", {})
    bare = s.get("bare", {}).get("16")
    if not bare:
        return "no c16 bare run"
    c = 16
    need_p50 = bare["latency_us"]["p50"] + ADDED_P50_US
    need_rps = c / (need_p50 / 1e6)
    parts = [
        f"{LANGS[lang]} {c} / {num(e['rps'])} req/s = {ms(c / e['rps'] * 1e6)} predicted, p50 "
        f"{ms(e['latency_us']['p50'])} measured"
        for lang in ("ts", "py")
        if (e := s.get(lang, {}).get("16")) and e["rps"]
    ]
    return (
        "Little's law (closed loop: latency = c / throughput): "
        + "; ".join(parts)
        + f". A p50 of bare's {ms(bare['latency_us']['p50'])} + 1 ms needs ≥ {num(need_rps)} req/s at c16 "
        f"({pct(need_rps / bare['rps'])} of bare's {num(bare['rps'])}): this target is the throughput target, stricter"
    )


def idle_rss(res: dict[str, Any]) -> str:
    """Idle RSS: what the budget (half of classic Motia's) leaves once the programs' files are mapped,
    and the import floors (a fresh interpreter importing what each process imports)."""
    mc = res.get("cold_start", {}).get("motia_core", {}).get("idle") or {}
    cl = res.get("classic", {}).get("idle") or {}
    parts = []
    split = mc.get("split_mb")
    if mc.get("unique_mb") and cl.get("unique_mb") and split:
        budget = cl["unique_mb"] / 2
        parts.append(
            f"budget {budget:.0f} MB (half of {cl['unique_mb']:.0f}, each page once); the programs' mapped files "
            f"alone take {split['files']:.0f} MB ("
            + ", ".join(f"{name} {mb:.0f}" for name, mb in split.get("largest_files", [])[:2])
            + f"), leaving {budget - split['files']:.0f} MB for the heaps of {len(mc.get('processes', []))} processes, "
            f"which hold {split['anonymous']:.0f} MB"
        )
    floors = {f["what"]: f["rss_mb"] for f in res.get("import_floors") or []}
    core = next((v for k, v in floors.items() if "motia_core.app" in k), None)
    node = next((v for k, v in floors.items() if "grpc-js" in k), None)
    if core and node:
        parts.append(
            f"import floors (RSS of a fresh process): python + the core's imports {core:.0f} MB, node + "
            f"grpc-js/esbuild {node:.0f} MB: {core + node:.0f} MB before the Python runner, against "
            f"{mc.get('rss_mb', 0):.0f} MB measured (RSS sums; half of classic's: {cl.get('rss_mb', 0) / 2:.0f} MB)"
        )
    return "; ".join(parts) + " (section *Resources*, RSS floors)" if parts else "no idle breakdown in this run"


def bodies(res: dict[str, Any]) -> dict[str, Any] | None:
    """The 1 MB JSON echo (suite_bodies.py) as a target row, with its floor line as the why."""
    b = res.get("bodies") or {}
    runs: dict[str, Any] = b.get("runs") or {}
    bare = runs.get("bare", {}).get("rps")
    langs = [k for k in ("ts", "py") if k in runs]
    if not bare or not langs:
        return None
    share = {k: runs[k]["rps"] / bare for k in langs}
    mb = b["body_bytes"] / 1e6
    row: dict[str, Any] = {
        "target": f"{mb:g} MB JSON echo through a step at c{b['c']} ≥ 50 % of the bare echo's throughput (TS, Python)",
        "status": "met" if min(share.values()) >= BODIES_TARGET else "missed",
        "measured": ", ".join(f"{LANGS[k]} {pct(v)}" for k, v in share.items()),
        "detail": "",
    }
    bare_ms = (runs["bare"].get("cpu_ms_per_mb") or {}).get("bare aiohttp")
    floor: dict[str, float] = b.get("floor_ms_per_request") or {}
    if row["status"] == "missed" and bare_ms:
        budget = bare_ms * mb / BODIES_TARGET
        parts = []
        for k in langs:
            spent = sum(runs[k]["cpu_ms_per_mb"].values()) * mb
            fl = floor.get("node" if k == "ts" else "python")
            parts.append(
                f"{LANGS[k]} spends {spent:.2f} ms"
                + (f" (its runtime's parse + encode alone {fl:.2f} ms)" if fl is not None else "")
            )
        row["why"] = (
            f"the target leaves core + runner {budget:.2f} ms CPU per request (twice the bare echo's "
            f"{bare_ms * mb:.2f} ms); " + ", ".join(parts) + " (section *Bodies as bytes*, floor line)"
        )
    return row


def cold_start(res: dict[str, Any]) -> str:
    """Cold start: the median phases of the starts (suite_startup.cold_phases) against the 1 s."""
    phases: list[dict[str, float]] = res.get("cold_start", {}).get("motia_core", {}).get("phases_ms") or []
    runs = res.get("cold_start", {}).get("motia_core", {}).get("runs_s") or []
    if not phases or not runs:
        return "no phases in this run"

    def mid(name: str) -> float | None:
        return _median([p[name] for p in phases if name in p])

    start, overlap, runners, imports = mid("start"), mid("overlap"), mid("runners"), mid("imports")
    if start is None or overlap is None:
        return "no phases in this run"
    over = statistics.median(runs) * 1000 - 1000
    return (
        f"{ms(over * 1000)} over 1 s; median phases: {ms(start * 1000)} before the runners spawn (interpreter, "
        f"light imports, discovery), then {ms(overlap * 1000)} while they start"
        + (
            f" (runners ready after {ms(runners * 1000)}, core imports done after {ms(imports * 1000)})"
            if runners is not None and imports is not None
            else ""
        )
        + " (section *Cold start*)"
    )
