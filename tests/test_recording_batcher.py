"""The flush loop and drop count both recorders share (core/motia_core/batching.py)."""

from __future__ import annotations

import asyncio
import io

from motia_core.batching import DropCount, FlushLoop
from motia_core.logs import Level, Logger
from motia_core.metrics import Metrics


async def test_flushes_on_its_interval_and_at_once_when_woken() -> None:
    flushed: list[float] = []

    async def flush() -> None:
        flushed.append(asyncio.get_running_loop().time())

    loop = FlushLoop(flush, "test-flush", interval=30.0)  # the interval never ends within this test
    loop.start()
    await asyncio.sleep(0.05)
    assert flushed == []
    loop.wake()
    for _ in range(200):
        if flushed:
            break
        await asyncio.sleep(0.01)
    assert len(flushed) == 1

    ticking = FlushLoop(flush, "test-tick", interval=0.02)
    ticking.start()
    for _ in range(500):
        if len(flushed) >= 4:
            break
        await asyncio.sleep(0.01)
    assert len(flushed) >= 4  # unwoken, it flushes every interval
    assert await ticking.stop(5.0, flush)
    assert await loop.stop(5.0, flush)


async def test_stop_drains_after_the_flush_under_way_and_gives_up_at_its_timeout() -> None:
    order: list[str] = []
    release = asyncio.Event()
    flushing = asyncio.Event()

    async def slow_flush() -> None:
        order.append("flush")
        flushing.set()
        await release.wait()

    async def drain() -> None:
        order.append("drain")

    loop = FlushLoop(slow_flush, "test-slow", interval=0.01)
    loop.start()
    await asyncio.wait_for(flushing.wait(), 10)
    stopping = asyncio.create_task(loop.stop(5.0, drain))
    await asyncio.sleep(0.05)
    assert order == ["flush"]  # the drain waits for the flush under way
    release.set()
    assert await stopping
    assert order == ["flush", "drain"]

    stuck = FlushLoop(slow_flush, "test-stuck", interval=0.01)
    release.clear()
    order.clear()
    flushing.clear()
    stuck.start()
    await asyncio.wait_for(flushing.wait(), 10)  # its first flush is under way, and never ends
    assert not await stuck.stop(0.2, drain)  # a flush that never ends costs the timeout, not more


async def test_drops_are_counted_at_once_and_warned_about_once_a_period() -> None:
    out = io.StringIO()
    metric = Metrics().counter("test_dropped_total", "dropped in this test")
    drops = DropCount(
        Logger("json", Level.DEBUG, out), metric, lambda n, why, total: f"{n} lost: {why} ({total} in all)", every=3600
    )
    drops.drop(2, "the store is down")
    drops.drop(3, "the store is still down")
    drops.drop(0, "nothing")
    assert drops.total == 5
    assert metric.value() == 5
    assert out.getvalue().count("lost") == 1  # the second drop came within the period
    assert "2 lost: the store is down (2 in all)" in out.getvalue()
    drops.warn(force=True)  # at close: what the period held back
    assert "3 lost: the store is still down (5 in all)" in out.getvalue()
    drops.warn(force=True)
    assert out.getvalue().count("lost") == 2  # nothing new to tell
