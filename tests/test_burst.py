"""A burst of 100,000 events: the durable queue absorbs it on disk, consumers take only what runner
slots allow, and the core's memory stays flat (`pytest -m chaos`)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable

import psutil
import pytest

from tests.conftest import CoreProcess

pytestmark = pytest.mark.chaos
EVENTS = int(__import__("os").environ.get("MOTIA_BURST_EVENTS", "100000"))


def _queued(core: CoreProcess) -> int:
    db = sqlite3.connect(f"file:{core.project / '.motia' / 'queue.db'}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM queue").fetchone()[0])
    finally:
        db.close()


@pytest.mark.timeout(300)
def test_a_100k_event_burst_keeps_core_memory_flat(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("burst")
    process = psutil.Process(core.proc.pid)
    baseline = process.memory_info().rss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    body = json.dumps({"count": EVENTS}).encode()
    req = urllib.request.Request(f"{core.url}/burst", body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=240) as resp:
        assert json.loads(resp.read()) == {"emitted": EVENTS}
    emitted_s = time.monotonic() - started
    deadline = time.monotonic() + 240
    while _queued(core) and time.monotonic() < deadline:
        time.sleep(0.5)
    drained_s = time.monotonic() - started
    stop.set()
    sampler.join(2)
    left = _queued(core)
    growth_mb = (peak - baseline) / 2**20
    print(
        f"\n[chaos] 100k burst: emitted in {emitted_s:.1f}s, all consumed in {drained_s:.1f}s, "
        f"core RSS {baseline / 2**20:.0f} MB -> peak {peak / 2**20:.0f} MB (+{growth_mb:.0f} MB), left {left}"
    )
    assert left == 0, f"{left} events still queued"
    assert not core.find_logs(lambda d: "giving up" in d.get("msg", ""))
    assert growth_mb < 150, f"core RSS grew by {growth_mb:.0f} MB during the burst"
