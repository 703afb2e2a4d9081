"""py-spy profiles of the core under load, reduced to the tables the report prints."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from benchlib.procs import run_bounded

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# where a frame's file puts it, first match wins
BUCKETS = (
    ("gRPC: grpc.aio / cygrpc / C core (incl. its socket I/O)", ("grpc/", "cygrpc", "libgrpc")),
    (
        "HTTP: aiohttp (parse, route, respond, incl. its socket writes)",
        ("aiohttp/", "_http_parser", "multidict", "yarl/"),
    ),
    ("protobuf (envelope encode/decode)", ("google/protobuf", "_message.", "upb")),
    ("orjson (JSON)", ("orjson",)),
    ("motia_core http/api.py (request -> payload -> response)", ("motia_core/http/",)),
    ("Redis client: redis-py / hiredis", ("site-packages/redis/", "hiredis")),
    ("motia_core runners/ (session, batching writer)", ("motia_core/runners/",)),
    ("motia_core queue/ (incl. the Redis backend)", ("motia_core/queue/",)),
    ("motia_core dispatch / tracing / calls / events / queue / state", ("motia_core/",)),
    ("asyncio / uvloop (event loop, tasks, futures, epoll)", ("asyncio/", "_asyncio", "uvloop/")),
)
# frames that never decide a bucket: libc, the interpreter, uvloop's and libuv's C internals
_NEUTRAL = (
    "libc.so",
    "libpthread",
    "libpython",
    "ld-linux",
    "(loop.c",
    "(core.c",
    "(linux.c",
    "(object.h",
    "(ceval",
    "(call.c",
    "(genobject",
    "(abstract",
    "(unix/",
    "(stream.c",
    "(tcp.c",
    "(pipe.c",
    "0x",
)
SYSCALLS = frozenset(
    {
        "write",
        "writev",
        "sendmsg",
        "recvmsg",
        "read",
        "recv",
        "send",
        "getpid",
        "epoll_pwait",
        "epoll_wait",
        "syscall",
        "futex",
        "clock_gettime",
        "gettid",
    }
)


def record(pid: int, seconds: float, out: Path, rate: int = 100) -> dict[str, Any]:
    """Sample `pid` for `seconds` (blocking mode with native frames: accurate stacks, a slight slowdown)."""
    argv = [
        str(Path(__import__("sys").executable).with_name("py-spy")),
        "record",
        "-p",
        str(pid),
        "-f",
        "raw",
        "-o",
        str(out),
        "-d",
        str(round(seconds)),
        "-r",
        str(rate),
        "--native",
        "--threads",
    ]
    proc = run_bounded(argv, timeout=seconds + 30, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-400:]}")
    result = summarize(out)
    result.update(rate_hz=rate, seconds=seconds)
    return result


def _parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = m.group("file")
    for marker in ("site-packages/", "lib/python3.11/", "core/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file}{':' + m.group('line') if m.group('line') else ''})"


def _bucket(frames: list[str]) -> str:
    """The innermost frame with a bucket, skipping neutral frames (so a syscall belongs to its caller)."""
    for f in reversed(frames):
        if any(n in f for n in _NEUTRAL) and "cygrpc" not in f and "_asyncio" not in f and "orjson" not in f:
            continue
        for name, needles in BUCKETS:
            if any(n in f for n in needles):
                return name
    return "other (interpreter, unattributed C frames)"


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    stacks = _parse(path)
    main = [(s[1:], n) for s, n in stacks if s and "MainThread" in s[0]] or [(s[1:], n) for s, n in stacks]
    other = sum(n for s, n in stacks if s and "MainThread" not in s[0])
    total = sum(n for _, n in main)
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    syscalls: Counter[str] = Counter()
    for frames, n in main:
        if not frames:
            continue
        leaf = _short(frames[-1])
        self_c[leaf] += n
        for f in {_short(f) for f in frames if ".py:" in f}:
            incl[f] += n
        bucket = _bucket(frames)
        buckets[bucket] += n
        name = frames[-1].split(" (", 1)[0]
        if name in SYSCALLS:
            syscalls[f"{name}() from {bucket.split(' (')[0]}"] += n

    def rows(c: Counter[str], key: str = "frame", limit: int = top) -> list[dict[str, Any]]:
        return [{key: f, "samples": n, "pct": 100.0 * n / total} for f, n in c.most_common(limit)] if total else []

    skip = ("<module>", "main (", "_serve (", "_run (", "run (uvloop", "Runner.run (")
    return {
        "samples_main_thread": total,
        "samples_other_threads": other,
        "buckets": rows(buckets, "bucket", 20),
        "syscalls": rows(syscalls, "call", 8),
        "self": rows(self_c),
        "inclusive": [r for r in rows(incl, limit=top + 8) if not r["frame"].startswith(skip)][:top],
    }


def perf_dso(pid: int, seconds: float, out: Path) -> list[dict[str, Any]] | None:
    """On-CPU samples by shared object (`perf record -F 999`), a cross-check of py-spy's wall-clock
    samples: None when perf is missing or not permitted."""
    import shutil

    perf = shutil.which("perf")
    if not perf:
        return None
    try:
        rec = run_bounded(
            [perf, "record", "-q", "-F", "999", "-o", str(out), "-p", str(pid), "--", "sleep", str(round(seconds))],
            timeout=seconds + 30,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if rec.returncode != 0 or not out.exists():
            return None
        rep = run_bounded(
            [perf, "report", "-i", str(out), "--sort", "dso", "--stdio"],
            timeout=60,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = []
    for line in rep.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%") and not line.lstrip().startswith("#"):
            try:
                rows.append({"dso": " ".join(parts[1:]), "pct": float(parts[0].rstrip("%"))})
            except ValueError:
                continue
    return rows or None
