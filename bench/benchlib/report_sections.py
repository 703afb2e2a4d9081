"""The report's longer sections: streams, resources, classic Motia side by side, and the core's
profile with its reading and the suggestions."""

from __future__ import annotations

import statistics
from typing import Any

from benchlib.report_classic import classic_rate
from benchlib.report_format import (
    LANGS,
    NAMES,
    RUNNER_OF,
    cpu_per_request,
    ctx_per_request,
    idle_moment,
    median_run,
    ms,
    num,
    ratio,
    table,
)


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
        moment = idle_moment(("motia-core", mc_idle), ("classic Motia", cl_idle))
        w(
            f"Idle, {moment}, on the 10-step project (RSS = resident set size; PSS = each "
            "shared page split among the processes of the machine that map it; USS = memory unique to the process; "
            "each page once = the system's resident pages, a page its processes share counted once, the "
            'figure the target uses: bench/README.md, "Resources"):\n'
        )
        rows = []

        def mb(v: float | None) -> str:
            return "–" if v is None else f"{v:.0f} MB"

        for label, snap in (("motia-core", mc_idle), ("classic Motia", cl_idle)):
            if not snap:
                continue
            for p in snap["processes"]:
                rows.append([label, p["role"], mb(p["rss_mb"]), mb(p.get("pss_mb")), mb(p["uss_mb"]), ""])
            rows.append(
                [
                    label,
                    "**total**",
                    f"**{mb(snap['rss_mb'])}**",
                    f"**{mb(snap.get('pss_mb'))}**",
                    f"**{mb(snap['uss_mb'])}**",
                    f"**{mb(snap.get('unique_mb'))}**",
                ]
            )
        w(table(["system", "process", "RSS", "PSS", "USS", "each page once"], rows))
        if mc_idle and cl_idle:
            both = mc_idle.get("unique_mb") and cl_idle.get("unique_mb")
            w(
                f"\nmotia-core / classic Motia: RSS {100 * mc_idle['rss_mb'] / cl_idle['rss_mb']:.0f} %, "
                f"USS {100 * mc_idle['uss_mb'] / cl_idle['uss_mb']:.0f} %"
                + (f", each page once {100 * mc_idle['unique_mb'] / cl_idle['unique_mb']:.0f} %." if both else ".")
            )
        for label, snap in (("motia-core", mc_idle), ("classic Motia", cl_idle)):
            split = (snap or {}).get("split_mb")  # resources.split_mb: what the pages hold
            if split:
                biggest = ", ".join(f"{name} {v:.0f} MB" for name, v in split["largest_files"])
                w(
                    f"\n{label}, each page once: {split['anonymous']:.0f} MB anonymous (heaps) + "
                    f"{split['files']:.0f} MB of mapped files ({biggest}, ...)."
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
                ms(cpu_per_request(run, core_role or "")) if core_role else "–",
                ms(cpu_per_request(run, RUNNER_OF[name])) if runner else "–",
                ctx_per_request(run, [core_role or "", RUNNER_OF.get(name, "")]),
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
            rate = classic_rate(e)[0] if e and e.get("requests") else 0.0
            if e and mc and rate:
                rows.append(
                    [
                        f"API {LANGS[lang]} c{c}",
                        f"{num(rate, 1)} req/s, p50 {ms(e['latency_us']['p50'])}",
                        f"{num(mc['rps'])} req/s, p50 {ms(mc['latency_us']['p50'])}",
                        f"{ratio(mc['rps'] / rate)} throughput, "
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
    bare_cpu = cpu_per_request(bare_run, next(iter(bare_run.get("resources", {}).get("by_role", {})), ""))
    lines = []
    for lang, p in prof.items():
        runs = api.get(lang, {}).get("16")
        if not runs:
            continue
        run = median_run(runs)
        core = cpu_per_request(run, "core")
        runner = cpu_per_request(run, RUNNER_OF[lang])
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
            f"{ctx_per_request(run, ['core', RUNNER_OF[lang]])}. In the core's main thread (py-spy): HTTP/aiohttp "
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
