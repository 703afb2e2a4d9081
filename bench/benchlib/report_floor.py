"""The floor experiment's section of the report (suite_floor.py measures it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TARGET_SHARE = 0.5  # issue 15 item 1: >= 50 % of bare aiohttp per CPU


def _us(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f} µs"


def _load(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f} %"


def _runner_us(layer: dict[str, Any]) -> float:
    return float(sum(v for role, v in layer["us_per_request"].items() if role.endswith("runner")))


def _own_us(layer: dict[str, Any]) -> float:
    """The server process itself: the core, or the bare aiohttp process."""
    per = layer["us_per_request"]
    return float(per.get("core", per.get("bare aiohttp", 0.0)))


def floor_budget(res: dict[str, Any]) -> dict[str, Any] | None:
    """The CPU per request 50 % of bare per CPU allows core + runner, next to what the floor run's
    layers spend: (c) the core without transport, (e) core + runner with the gRPC stream."""
    layers: dict[str, dict[str, Any]] = (res.get("floor") or {}).get("layers") or {}
    bare = layers.get("a")
    if not bare or not _own_us(bare):
        return None
    c = layers.get("c")
    return {
        "bare_us": _own_us(bare),
        "budget_us": _own_us(bare) / TARGET_SHARE,
        "c_us": _own_us(c) if c else None,
        "e_us": {k: _own_us(v) + _runner_us(v) for k, v in layers.items() if k.startswith("e_")},
    }


def render_floor(res: dict[str, Any], w: Callable[[str], None]) -> None:
    floor = res.get("floor")
    if not floor or not floor.get("layers"):
        return
    layers: dict[str, dict[str, Any]] = floor["layers"]
    bare = layers.get("a")
    bare_us = _own_us(bare) if bare else None
    w("\n## The floor: the same request with layers taken away (c16)\n")
    w(
        f"One `GET` at c{floor['c']} through the real core, layers removed one at a time "
        "(bench/benchlib/suite_floor.py, bench/README.md#the-floor); CPU = utime + stime of each process "
        f"over the run / requests wrk counted, median of {floor['rounds']} interleaved rounds of "
        f"{floor['seconds']:g} s. *Δ core* = the core's CPU per request minus the row it builds on "
        "(b on a: the bare process; both (e) rows on (c)): the price of that layer. *of bare per CPU* = "
        "bare's CPU per request / (core + runner). *other load* = busy time of the servers' CPU that the "
        "server's processes did not use (median of the rounds), as in the API matrix: compare rows at similar "
        "other load.\n"
    )
    w("| layer | req/s | p50 | core (or bare) CPU / req | runner CPU / req | Δ core | of bare per CPU | other load |")
    w("|---|---|---|---|---|---|---|---|")
    base = {"b": "a", "api": "b", "c": "api", "e_ts": "c", "e_py": "c"}
    for key, layer in layers.items():
        own, runner = _own_us(layer), _runner_us(layer)
        prev = layers.get(base.get(key, ""))
        delta = f"{own - _own_us(prev):+,.1f} µs" if prev else "–"
        share = f"{100 * bare_us / (own + runner):.0f} %" if bare_us and own + runner > 0 else "–"
        w(
            f"| {layer['label']} | {layer['rps']:,.0f} | {layer['p50_us'] / 1000:.2f} ms | {_us(own)} | "
            f"{_us(runner) if runner else '–'} | {delta} | {share} | {_load(layer.get('other_load_pct'))} |"
        )
    idle = floor.get("idle_cpu_pct")
    if idle and "b" in layers:
        pct = idle.get("core", 0.0)
        w(
            f"\nWith no request at all the core used {pct:.2f} % of a CPU (background: queue polling, flush loops, "
            f"gRPC's poller, runner pings; runners: "
            + ", ".join(f"{r} {v:.2f} %" for r, v in sorted(idle.items()) if r != "core")
            + f"): at (b)'s rate that is {pct * 1e4 / max(layers['b']['rps'], 1.0):,.1f} µs of each request's core CPU."
        )
    b = floor_budget(res)
    if b:
        text = (
            f"\n50 % of bare per CPU allows **{b['budget_us']:,.0f} µs** of CPU per request for core + runner together "
            f"(bare: {b['bare_us']:,.1f} µs)."
        )
        if b["c_us"] is not None:
            own, budget = b["c_us"], b["budget_us"]
            text += f" The core without any transport, (c), spends {own:,.1f} µs: " + (
                f"{budget - own:,.0f} µs are left for the stream (both sides) and the runner."
                if own < budget
                else f"already {own - budget:,.0f} µs over the budget before any transport or runner."
            )
        w(text)
    profiles: dict[str, dict[str, Any]] = floor.get("profiles") or {}
    keys: list[str] = [
        k for k in ("b", "api", "c", "e_ts", "e_py") if k in profiles and k in layers and "by_module" in profiles[k]
    ]
    if keys:
        _module_table(layers, profiles, keys, w)
    if floor.get("profile_error"):
        w(f"\nProfile not taken: {floor['profile_error']}")


SHORT = {
    "b": "(b) HTTP only",
    "api": "(c1) api.py",
    "c": "(c) in-process dispatch",
    "e_ts": "(e) TypeScript",
    "e_py": "(e) Python",
}
TOP_MODULES = 16


def _module_table(
    layers: dict[str, dict[str, Any]], profiles: dict[str, dict[str, Any]], keys: list[str], w: Callable[[str], None]
) -> None:
    w(
        "\n### Where the core's µs per request go (py-spy `--native --threads`, main thread, by module)\n\n"
        "Each busy main-thread sample goes to the module of its innermost frame that names one (a "
        "syscall to the Python code that made it; `event loop` = only uvloop's and libuv's C code under "
        "the loop; samples of the loop waiting in epoll are left out). *µs* = the module's share of "
        "the busy samples × the core's CPU per request in the runs above: an estimate, since py-spy "
        "samples wall-clock stacks and pauses the core to read them, and the core's other threads "
        "(gRPC's poller) are in the CPU total but not in the split.\n"
    )
    totals: dict[str, int] = {}
    for k in keys:
        for row in profiles[k]["by_module"]["modules"]:
            totals[row["module"]] = totals.get(row["module"], 0) + row["samples"]
    ranked = sorted(totals, key=lambda m: -totals[m])
    shown, rest = ranked[:TOP_MODULES], set(ranked[TOP_MODULES:])
    w("| module | " + " | ".join(SHORT[k] for k in keys) + " |")
    w("|---|" + "---|" * len(keys))

    def cell(k: str, names: set[str]) -> str:
        prof = profiles[k]["by_module"]
        n = sum(r["samples"] for r in prof["modules"] if r["module"] in names)
        share = n / prof["busy"] if prof["busy"] else 0.0
        return f"{share * _own_us(layers[k]):,.1f} µs ({100 * share:.0f} %)" if n else "–"

    for name in shown:
        w(f"| {name} | " + " | ".join(cell(k, {name}) for k in keys) + " |")
    if rest:
        w(f"| {len(rest)} other modules | " + " | ".join(cell(k, rest) for k in keys) + " |")
    w("| **core CPU / request** | " + " | ".join(f"**{_own_us(layers[k]):,.1f} µs**" for k in keys) + " |")
    w(
        "| busy / idle main-thread samples | "
        + " | ".join(f"{profiles[k]['by_module']['busy']} / {profiles[k]['by_module']['idle']}" for k in keys)
        + " |"
    )
    w("\nRaw stacks: " + ", ".join(f"`profile-floor-{k}.txt`" for k in keys) + " in the results folder.")
