"""The recording pair (suite_record.py) in the report: on/off ratios per endpoint, the target row
and where recording's time goes."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchlib.report_format import cpu_us, median_run, ms, num, table

NAMES = {
    "ts_log": "TS step, logs one line",
    "py_log": "Python step, logs one line",
    "ts": "TS step, no-op",
    "py": "Python step, no-op",
}
SHORT = {"ts_log": "TS log", "py_log": "Python log", "ts": "TS no-op", "py": "Python no-op"}
TARGET = 0.95  # issue 10: c16 API throughput with logs and traces recorded drops by no more than 5 %


def summary(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per endpoint: the on / off throughput of each round (a round's runs of each side pooled, all
    requests over all seconds loaded: an ABBA round has two runs a side) and their median, which a
    run stalled by other load cannot move much; req/s and CPU per request of each side over every
    run; the median runs of each side for the latencies."""
    rec = res.get("record", {})
    per = int(rec.get("runs_per_round", 1))
    out: dict[str, dict[str, Any]] = {}
    for key, by in rec.get("runs", {}).items():
        on, off = by.get("on") or [], by.get("off") or []
        rounds = [
            (on[i : i + per], off[i : i + per]) for i in range(0, min(len(on), len(off)), per) if _rps(off[i : i + per])
        ]
        if not rounds:
            continue
        cpu = [(ca, cb) for a, b in rounds if (ca := _cpu(a)) and (cb := _cpu(b))]
        cpu_on, cpu_off = _cpu(on), _cpu(off)
        ratios = [_rps(a) / _rps(b) for a, b in rounds]
        ratios_cpu = [b / a for a, b in cpu]
        out[key] = {
            "ratio": statistics.median(ratios),
            "ratios": ratios,
            "ratios_cpu": ratios_cpu,
            "verdict": judge(ratios, ratios_cpu),
            "rps_on": _rps(on),
            "rps_off": _rps(off),
            "on": median_run(on),
            "off": median_run(off),
            "cpu_on_us": cpu_on,
            "cpu_off_us": cpu_off,
            "cpu_added_us": cpu_on - cpu_off if cpu_on and cpu_off else None,
            # on's CPU per request - off's, round by round: its spread is the noise the figure above carries
            # (the TS and Python logging steps send the same envelopes; a gap between them within this
            # spread is the machine, not the language)
            "cpu_added_rounds": [a - b for a, b in cpu],
            # throughput share at equal CPU (off's CPU per request / on's), median over the rounds:
            # less moved by other load than throughput
            "ratio_cpu": statistics.median(ratios_cpu) if ratios_cpu else None,
            "errors": sum(r["errors"] for r in on + off),
            # CPU other processes took on the servers' CPU during the runs: the noise this machine added
            "foreign_pct": [
                x for r in on + off if (x := r.get("resources", {}).get("foreign_pct_on_server_cpus")) is not None
            ],
        }
    return out


def quartiles(xs: list[float]) -> tuple[float, float]:
    """The spread the report prints next to a median: first and third quartile (inclusive method,
    so a handful of rounds gives quartiles inside their range)."""
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (float("nan"), float("nan"))
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def judge(ratios: list[float], ratios_cpu: list[float]) -> dict[str, Any]:
    """The verdict on one endpoint from its rounds: on/off throughput and on/off at equal CPU (off's CPU
    per request / on's), one value per round each. Met when the median of each is at least TARGET.

    Why both: throughput moves with whatever else the shared machine runs during a 1 s run, CPU per
    request much less, but a slower recording side shows in both; the medians over many short rounds
    shrug off a few rounds that a burst of other load hit, while a real regression moves every round
    and so the median. The quartiles are reported, not used: a verdict that widened with the noise
    would pass a real regression on a noisy day."""
    med = statistics.median(ratios) if ratios else None
    med_cpu = statistics.median(ratios_cpu) if ratios_cpu else None
    judged = [x for x in (med, med_cpu) if x is not None]
    return {
        "status": "met" if judged and min(judged) >= TARGET else "missed",
        "median": med,
        "median_cpu": med_cpu,
        "spread": quartiles(ratios) if ratios else None,
        "spread_cpu": quartiles(ratios_cpu) if ratios_cpu else None,
        "rounds": len(ratios),
    }


def _rps(runs: list[dict[str, Any]]) -> float:
    seconds = sum(r.get("duration_s") or 0.0 for r in runs)
    return sum(r.get("requests") or 0 for r in runs) / seconds if seconds else 0.0


def _cpu(runs: list[dict[str, Any]]) -> float | None:
    """CPU µs per request of the whole server over the runs that served requests and were sampled."""
    per = [(c, r["requests"]) for r in runs if (c := cpu_us(r)) is not None]
    if not per:
        return None
    return float(sum(c * n for c, n in per) / sum(n for _, n in per))


def _other_threads_us(runs: list[dict[str, Any]]) -> float | None:
    """CPU µs per request of the core process's threads but its main one, over several runs."""
    cpu = requests = 0.0
    for r in runs:
        res = r.get("resources") or {}
        pct = (res.get("root_threads") or {}).get("other_threads_cpu_pct")
        if pct is None or not r.get("requests"):
            return None
        cpu += pct / 100 * res["wall_s"]
        requests += r["requests"]
    return cpu / requests * 1e6 if requests else None


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    s = summary(res)
    if not s:
        return []
    rec = res["record"]

    def low(e: dict[str, Any]) -> float:
        return min(x for x in (e["verdict"]["median"], e["verdict"]["median_cpu"], 9.0) if x is not None)

    worst = min(s, key=lambda k: low(s[k]))
    missed = [k for k, e in s.items() if e["verdict"]["status"] != "met"]
    row: dict[str, Any] = {
        "target": "API throughput at c16 with logs and span events recorded ≥ 95 % of `--no-record` "
        "(TS, Python; a step logging one line and the no-op)",
        "status": ("missed" if missed else "met") if rec.get("valid", True) else "invalid (see Not run or failed)",
        "measured": "; ".join(f"{NAMES[k]} {_judged(e)}" for k, e in s.items())
        + f" (worst: {NAMES[worst]}; medians of {s[worst]['verdict']['rounds']} "
        + (
            "rounds with both sides loaded at once"
            if rec.get("mode") == "together"
            else ("interleaved ABBA rounds" if rec.get("runs_per_round", 1) == 2 else "interleaved rounds")
        )
        + ", quartiles in brackets; met when both the throughput and the at-equal-CPU median are ≥ 95 %)",
        "detail": "",
    }
    if missed and rec.get("valid", True):
        row["why"] = _why(res, s, missed)
    return [row]


def _judged(e: dict[str, Any]) -> str:
    v = e["verdict"]
    text = f"{pct1(v['median'])} [{_spread(v['spread'])}]"
    if v["median_cpu"] is not None:
        text += f", per CPU {pct1(v['median_cpu'])} [{_spread(v['spread_cpu'])}]"
    return text


def _spread(q: tuple[float, float] | None) -> str:
    return "–" if q is None else f"{100 * q[0]:.1f}–{100 * q[1]:.1f}"


def _why(res: dict[str, Any], s: dict[str, dict[str, Any]], missed: list[str]) -> str:
    """For each missed endpoint: how many rounds fell below the target (a real cost moves nearly all of
    them, a burst of other load a few) and the CPU recording added per request; then what one recorded
    line costs apart from any server (record_cost.py)."""
    parts = []
    for k in missed:
        e = s[k]
        n = len(e["ratios"])
        below = sum(r < TARGET for r in e["ratios"])
        below_cpu = sum(r < TARGET for r in e["ratios_cpu"])
        added = statistics.median(e["cpu_added_rounds"]) if e["cpu_added_rounds"] else None
        parts.append(
            f"{NAMES[k]}: {below} of {n} rounds below 95 % in throughput, {below_cpu} of {len(e['ratios_cpu'])} "
            "at equal CPU"
            + (f", recording added {added:+.0f} µs CPU per request (median of the rounds)" if added is not None else "")
        )
    other = [x for e in s.values() for x in e["foreign_pct"]]
    if other:
        # what the shared machine took from the servers' CPU: a 5 % effect is hard to see under much more
        parts.append(
            f"other processes took {statistics.median(other):.0f} % of the servers' CPU in the median run "
            f"({min(other):.0f}–{max(other):.0f} %"
            + (", the other side included: both ran at once)" if res["record"].get("mode") == "together" else ")")
        )
    cost = (res.get("record") or {}).get("line_cost")
    if cost:
        parts.append(
            f"one recorded line costs {cost['recording_us']:.1f} µs CPU apart from any server (record_cost.py)"
        )
    return "; ".join(parts)


def pct1(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def render_record(res: dict[str, Any], w: Callable[[str], None]) -> None:
    rec = res.get("record")
    s = summary(res)
    if not rec or not s:
        return
    w("## What recording costs: `serve` vs `serve --no-record` (c16)\n")
    w(
        "Two motia-core servers on the same step files, side by side on the servers' CPU, both with "
        "`--log-level info`: one records (the default: every log line into `.motia/logs.db` through the "
        "batched LogRecorder, every handler call as a span event"
        + (
            f"; its store already holds {num(rec['prefilled'])} lines when it starts, its retention bound: "
            "what a core that has served for a while writes into"
            if rec.get("prefilled")
            else ""
        )
        + "), the other runs `--no-record` (stdout "
        "logging, traces and /metrics stay on both; OTel is off). `GET /log/<lang>` is an API step that "
        "logs one info line per request; the no-op steps log nothing, so their difference is the span "
        f"bookkeeping alone. wrk c16, {rec['seconds']:g} s per run, {rec['rounds']} interleaved rounds "
        + (
            "(ABBA: on, off, off, on, then off, on, on, off, so a drift of the machine's speed weighs on both "
            "sides alike); *per round* is on / off throughput over the round's runs of each side (all "
            "requests over all seconds loaded), *on/off* the median of those, *req/s* each side's over every run"
            if rec.get("runs_per_round", 1) == 2
            else "(both sides loaded at the same time, a wrk each on the load generators' CPU, so they share the "
            "servers' CPU and whatever else runs on it alike; *other load* then includes the other side)"
            + "; *per round* is one pair's ratio, *on/off* their median, *req/s* each side's over every run"
            if rec.get("mode") == "together"
            else "(each endpoint on then off, the order flipped every round); *per round* is one pair's "
            "ratio, *on/off* their median, *req/s* each side's over every run"
        )
        + "; p50 and p99 are from each side's median run; *CPU / request* is over every run; *on/off per CPU* "
        "= off's CPU time per request (core + runners) / on's, median over the rounds, the share recording "
        "leaves at equal CPU; *CPU added per round* = on's CPU per request minus off's in each round (their "
        "spread is the noise on *CPU added*); "
        "*other load* = "
        "the range, over the runs, of the CPU other processes took on the servers' CPU (this machine's noise).\n"
    )
    rows = []
    for key, e in s.items():
        on, off = e["on"], e["off"]
        rows.append(
            [
                NAMES[key],
                num(e["rps_on"]),
                num(e["rps_off"]),
                f"**{100 * e['ratio']:.1f} %**",
                ", ".join(f"{100 * r:.1f}" for r in e["ratios"]),
                f"{ms(on['latency_us']['p50'])} / {ms(off['latency_us']['p50'])}",
                f"{ms(on['latency_us']['p99'])} / {ms(off['latency_us']['p99'])}",
                "–" if e["cpu_on_us"] is None else f"{ms(e['cpu_on_us'])} / {ms(e['cpu_off_us'])}",
                "–" if e["cpu_added_us"] is None else ("+" if e["cpu_added_us"] >= 0 else "") + ms(e["cpu_added_us"]),
                ", ".join(f"{x:+.0f}" for x in e["cpu_added_rounds"]) or "–",
                pct1(e["ratio_cpu"]),
                f"{min(e['foreign_pct']):.0f}–{max(e['foreign_pct']):.0f} %" if e["foreign_pct"] else "–",
            ]
        )
    w(
        table(
            [
                "endpoint",
                "req/s on",
                "req/s off",
                "on/off",
                "per round (%)",
                "p50 on / off",
                "p99 on / off",
                "CPU / request on / off",
                "CPU added",
                "CPU added per round (µs)",
                "on/off per CPU",
                "other load",
            ],
            rows,
        )
    )
    checks = rec.get("checks") or {}
    if checks:
        w(
            "\nWhat each side kept after the rounds (the pair is checked, not assumed): "
            + "; ".join(
                f"{side}: {c.get('step_lines_kept', '?')} `LogTs` lines in `/__motia/logs` (a page of at most "
                f"1000), {c.get('not_recorded', '?')} lines not recorded (`motia_log_lines_not_recorded_total`)"
                for side, c in checks.items()
            )
            + "."
        )
    cost = rec.get("line_cost")
    if cost:
        proj = [
            f"{NAMES[k]} {pct1(e['cpu_off_us'] / (e['cpu_off_us'] + cost['recording_us']))}"
            for k, e in s.items()
            if k.endswith("_log") and e.get("cpu_off_us")
        ]
        w(
            "\nCPU time of one recorded line, measured apart from any server (`benchlib/record_cost.py`: "
            f"{num(cost['lines'])} lines through the core's Logger, with and without its LogRecorder on a "
            f"SQLite store"
            + (
                f" already holding {num(cost['kept'])} lines (its retention bound: every write also prunes), "
                f"trace ids in Motia's format, {num(cost['rate'])} lines/s"
                if "kept" in cost
                else ""
            )
            + f", CPU of every thread, median of {cost.get('reps', 1)} rounds): "
            f"**{cost['recording_us']:.1f} µs** per line; the store's batched append measured alone (rows "
            f"built, one INSERT transaction per 500 lines on a worker thread) {cost['store_append_us']:.1f} µs"
            + (
                f" (into an empty store {cost['store_append_empty_us']:.1f} µs)"
                if "store_append_empty_us" in cost
                else ""
            )
            + f"; rendering the line for stdout costs {cost['stdout_only_us']:.1f} µs "
            "on both sides. CPU time moves much less with other load than throughput, so it checks the ratios "
            "above: with the --no-record side's CPU per request from this run, a logging step would keep "
            + (", ".join(proj) if proj else "–")
            + " of its throughput at equal CPU."
        )
    threads = [
        f"{NAMES[k]} {ms(on)} / {ms(off)}"
        for k, by in rec.get("runs", {}).items()
        if k in s
        and (on := _other_threads_us(by.get("on") or [])) is not None
        and (off := _other_threads_us(by.get("off") or [])) is not None
    ]
    if threads:
        w(
            "\nCPU per request of the core's threads other than the event loop, on / off (the SQLite writer "
            "runs there when recording; gRPC's poller and the stdout writer on both sides), over every run: "
            + ", ".join(threads)
            + "."
        )
    errs = [f"{NAMES[k]}: {e['errors']}" for k, e in s.items() if e["errors"]]
    if errs:
        w("\nErrors (non-2xx, timeouts, socket errors): " + "; ".join(errs) + ".")
    prof = rec.get("profile") or {}
    if prof:
        w(
            "\n### Where recording's time goes (py-spy, TS logging step at c16)\n\n"
            "Both columns are the TS logging step (`/log/ts`): the recording server against the `--no-record` "
            "one, not TS against Python. "
            "Each server sampled for 5 s (100 Hz, native frames) under the same load. Main-thread samples "
            "by the first of these found anywhere in the stack (inclusive: a line's whole path through "
            "that code), idle waits (the event loop polling) left out; other threads' samples that are not idle "
            "waits, as a share of the main thread's (they still include waits for the GIL and for fsync, so an "
            "upper bound on their CPU; `uvloop_0` is the worker thread that writes `.motia/logs.db`).\n"
        )
        labels: list[str] = []
        for p in prof.values():
            labels += [g["where"] for g in p["split"]["groups"] if g["where"] not in labels]
        rows = []
        for label in labels:
            cells = []
            for side in ("on", "off"):
                g = next(
                    (g for g in prof.get(side, {}).get("split", {}).get("groups", []) if g["where"] == label), None
                )
                cells.append(f"{g['pct']:.1f} %" if g else "–")
            rows.append([label, *cells])
        names: list[str] = []
        for p in prof.values():
            names += [t["thread"] for t in p["split"]["threads"] if t["thread"] not in names]
        for t in names:
            cells = []
            for side in ("on", "off"):
                x = next((x for x in prof.get(side, {}).get("split", {}).get("threads", []) if x["thread"] == t), None)
                cells.append(f"{x['pct_of_main']:.1f} %" if x else "–")
            rows.append([f"thread `{t}`", *cells])
        rows.append(
            [
                "busy main-thread samples",
                *[str(prof.get(side, {}).get("split", {}).get("main_samples", "–")) for side in ("on", "off")],
            ]
        )
        w(table(["where", "recording on", "--no-record"], rows))
        w("\nRaw profiles: " + ", ".join(f"`{p['file']}`" for p in prof.values()) + " in this results folder.")
    w("")
