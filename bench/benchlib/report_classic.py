"""Classic Motia's API figure and the "≥ 500× classic Motia" row's why.

Classic Motia's API runs were once a 4 s wrk window. At c16 classic Motia answers its 16 requests
together (a process spawned per call), ~2.7 s a round, so the window held one finished round: the
figure was 16 / 4 s, set by the window, not by the server (bench/README.md, "Classic Motia's API
figure"). suite_classic.py now drives it with closedload.py (whole rounds over the time they took).
For a results.json from before, `classic_rate` falls back to Little's law on the window's answers.
"""

from __future__ import annotations

from typing import Any

from benchlib.report_floor import floor_budget
from benchlib.report_format import LANGS, num, pct

TARGET_X = 500.0  # issue 15: API step throughput at c16 >= 500x classic Motia
MIN_ROUNDS = 5  # fewer whole rounds per connection than this: a window's count, not a rate


def classic_rate(run: dict[str, Any]) -> tuple[float, str]:
    """(req/s, how it was measured) of one classic API run."""
    c = int(run.get("connections") or 1)
    rounds = run["requests"] / c if c else 0.0
    if run.get("method") or rounds >= MIN_ROUNDS or not run.get("mean_us"):
        how = f"{run['requests']} requests in {run['duration_s']:.1f} s"
        if run.get("rps_little"):
            how += f"; Little's law {run['rps_little']:.1f}"
        return float(run["rps"]), how
    # a wrk window with fewer than MIN_ROUNDS rounds: its count is quantized by the window; a closed
    # loop's throughput is connections / mean latency (Little's law) over the answers it did get
    little = c / (run["mean_us"] / 1e6)
    return little, (
        f"Little's law: {c} / mean {run['mean_us'] / 1e6:.2f} s; the {run['duration_s']:.0f} s window's "
        f"count was {run['requests']} requests = {run['rps']:.1f} req/s"
    )


def x_classic_why(res: dict[str, Any]) -> str:
    """What ≥ 500× needs at c16 in req/s, as a share of bare and as CPU per request on the servers'
    one CPU, next to what the API matrix and the floor run measured."""
    s = res.get("summary", {}).get("api", {})
    cl = res.get("classic", {}).get("api", {})
    bare = s.get("bare", {}).get("16") or {}
    parts = []
    for lang in ("ts", "py"):
        mine, theirs = s.get(lang, {}).get("16"), cl.get(lang, {}).get("16")
        if not mine or not theirs:
            continue
        rate, how = classic_rate(theirs)
        if not rate:
            continue
        need = TARGET_X * rate
        text = f"{LANGS[lang]}: classic {rate:.1f} req/s ({how}), so 500× needs {num(need)} req/s"
        if bare.get("rps"):
            text += f" ({pct(need / bare['rps'])} of bare's {num(bare['rps'])})"
        # the servers have one CPU: at saturation req/s = 1 s / (core + runner CPU per request)
        text += f", at most {num(1e6 / need)} µs CPU per request for core + runner; measured {num(mine['rps'])} req/s"
        if mine.get("cpu_us"):
            text += f" at {num(mine['cpu_us'])} µs"
        parts.append(text)
    if not parts:
        return "classic Motia's c16 runs are missing"
    b = floor_budget(res)
    tail = ""
    if b:
        tail = "; the floor run: the core without transport, (c), spends " + (
            f"{num(b['c_us'])} µs" if b["c_us"] is not None else "–"
        )
        for key, lang in (("e_ts", "TS"), ("e_py", "Python")):
            if key in b["e_us"]:
                tail += f", {lang} with gRPC and runner {num(b['e_us'][key])} µs"
        tail += " (section *The floor*)"
    return "; ".join(parts) + tail
