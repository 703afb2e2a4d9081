"""The report's PNG charts (matplotlib): latency CDFs and throughput bars."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchlib.report_format import CLASSIC_NAMES, NAMES, median_run


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
        "go": "#00add8",
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
