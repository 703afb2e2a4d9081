"""Redis under faults, end to end (`pytest -m chaos`): two `motia-core serve --redis` instances of
tests/fixtures/rc_cluster (a Python and a TypeScript subscriber of one topic), real runners, a real
redis-server.

Every handling leaves a file `<n>.<language>.<instance>.<µs>` in a directory of the test's as it
starts: it survives a SIGKILL of the instance that wrote it, so losses and duplicates are counted
from the files, not from a dead core's logs, and an event whose handler was cut off counts twice.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis

from tests.conftest import CoreProcess, pid_alive
from tests.redis_chaos_support import LANGS, consumer_of, kill_instance, leases_of, processes_of, unsettled
from tests.redis_server import RedisServer

pytestmark = pytest.mark.chaos

FIXTURE = "rc_cluster"
VISIBILITY_TIMEOUT = 6.0  # infrastructure.queue.visibilityTimeout of both steps in the fixture
CONCURRENCY = 8  # infrastructure.queue.concurrency of both steps: one instance's leases per subscription


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client to look at the queue's keys from outside the cores."""
    with redis.Redis.from_url(redis_server.url) as c:
        yield c


@dataclass
class Handling:
    n: int
    lang: str
    instance: str
    at: float  # seconds since the epoch


def _handlings(out: Path) -> list[Handling]:
    found = []
    for entry in os.listdir(out):
        n, lang, instance, micros = entry.split(".")
        found.append(Handling(int(n), lang, instance, int(micros) / 1e6))
    return sorted(found, key=lambda h: h.at)


def _by_event(handlings: list[Handling]) -> dict[tuple[int, str], list[Handling]]:
    grouped: dict[tuple[int, str], list[Handling]] = collections.defaultdict(list)
    for h in handlings:
        grouped[(h.n, h.lang)].append(h)
    return grouped


def _start(
    start_core: Callable[..., CoreProcess], server: RedisServer, out: Path, instance: str, **extra: str
) -> CoreProcess:
    env = {"RC_OUT": str(out), "RC_INSTANCE": instance, "MOTIA_RETRY_BASE_DELAY": "0.05", **extra}
    # the same project folder for both: with --redis nothing is kept under .motia/
    return start_core(FIXTURE, "--redis", server.url, env=env)


async def _wait_handled(out: Path, expected: set[tuple[int, str]], timeout: float) -> set[tuple[int, str]]:
    """Wait until every expected (n, language) was handled at least once; the ones still missing."""
    deadline = time.monotonic() + timeout
    while True:
        missing = expected - set(_by_event(_handlings(out)))
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.2)


@dataclass
class Posts:
    """What the load generator sent: per event number, the HTTP status (or the error) and latency."""

    acked: set[int] = field(default_factory=set)
    refused: list[tuple[int, float, str]] = field(default_factory=list)  # n, seconds, message (503s)
    failed: list[tuple[int, str]] = field(default_factory=list)  # n, why (no HTTP answer)
    answered: list[tuple[int, float, int]] = field(default_factory=list)  # n, sent at (monotonic), status
    slowest: float = 0.0


async def _post(http: aiohttp.ClientSession, core: CoreProcess, n: int, posts: Posts) -> None:
    started = time.monotonic()
    try:
        async with http.post(f"{core.url}/emit", json={"topic": "work.item", "data": {"n": n}}) as resp:
            body = await resp.json()
            status = resp.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        posts.failed.append((n, f"{type(exc).__name__}: {exc}"))
        return
    took = time.monotonic() - started
    posts.slowest = max(posts.slowest, took)
    posts.answered.append((n, started, status))
    if status in (200, 202):
        posts.acked.add(n)
    elif status == 503:
        posts.refused.append((n, took, str(body.get("message", ""))))
    else:
        posts.failed.append((n, f"HTTP {status}: {body}"))


@pytest.mark.timeout(120)
async def test_sigkill_of_a_whole_instance_under_load_loses_nothing(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer, client: redis.Redis, tmp_path: Path
) -> None:
    out = tmp_path / "handled"
    out.mkdir()
    a = _start(start_core, redis_server, out, "A")
    b = _start(start_core, redis_server, out, "B")
    total, kill_after = 400, 200
    posts = Posts()
    live = [a, b]
    killed_at = 0.0
    dead: set[int] = set()
    leased_on_a: dict[str, set[int]] = {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        numbers = iter(range(total))
        sent_to_a: set[int] = set()
        half_in = asyncio.Event()

        async def poster() -> None:  # 8 of these: posts keep flowing to both while A is killed
            for n in numbers:
                target = live[n % len(live)]
                if target is a:
                    sent_to_a.add(n)
                await _post(http, target, n, posts)
                if len(posts.acked) >= kill_after:
                    half_in.set()

        async def killer() -> None:
            nonlocal killed_at, dead, leased_on_a, live
            await half_in.wait()
            assert [h for h in _handlings(out) if h.instance == "A"], "instance A handled nothing yet"
            consumer = consumer_of(client, a.proc.pid)
            killed_at = time.time()
            dead = kill_instance(a)
            leased_on_a = leases_of(client, consumer)  # A's in-flight events at its death
            live = [b]

        await asyncio.gather(killer(), *(poster() for _ in range(8)))

    # only posts A was answering when it died may have gone unanswered; B answered every one
    assert not posts.refused, posts.refused[:5]
    assert {n for n, _ in posts.failed} <= sent_to_a, posts.failed[:5]
    assert len(posts.acked) >= total - 8
    # no orphan: the core and every process it had started are gone
    for _ in range(50):  # up to 5 s for the kernel to reap them
        if not any(pid_alive(p) for p in dead):
            break
        await asyncio.sleep(0.1)
    assert [p for p in dead if pid_alive(p)] == [], "processes of the killed instance survived it"
    assert processes_of(out, "A") == [], "a process of the killed instance is still running"
    assert len(processes_of(out, "B")) >= 3, "the scan finds the live instance's core and two runners"

    expected = {(n, lang) for n in posts.acked for lang in LANGS}
    expected |= {(n, lang) for lang in LANGS for n in leased_on_a[lang]}  # stored, whatever its POST got
    missing = await _wait_handled(out, expected, timeout=60)
    assert missing == set(), f"lost {len(missing)}: {sorted(missing)[:10]}"
    # a duplicate could still come from a reclaim: wait out one more visibility timeout
    await asyncio.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 2 - time.time()))
    grouped = _by_event(_handlings(out))
    assert set(grouped) >= expected  # a post cut off by the kill may or may not have been stored
    duplicates = {key: hs for key, hs in grouped.items() if len(hs) > 1}
    for lang in LANGS:
        assert len(leased_on_a[lang]) <= CONCURRENCY, f"A held more {lang} leases than its slots"
    # the duplicates are exactly the events leased to A at its death whose handler A had started
    started_on_a_unsettled = {
        (n, lang) for lang in LANGS for n in leased_on_a[lang] if any(h.instance == "A" for h in grouped[(n, lang)])
    }
    assert set(duplicates) == started_on_a_unsettled
    for key, hs in duplicates.items():
        assert [h.instance for h in hs] == ["A", "B"], f"{key} handled by {[h.instance for h in hs]}"
    # every event in flight on A at its death was handled again within the visibility timeout (plus
    # the reclaim period of 1 s and a margin for this slow shared machine)
    redelivery = [max(h.at for h in grouped[(n, lang)]) - killed_at for lang in LANGS for n in leased_on_a[lang]]
    assert redelivery, "A held no lease when it died: the test killed it too late"
    assert max(redelivery) <= VISIBILITY_TIMEOUT + 4, sorted(redelivery)
    print(
        f"\n[redis chaos] SIGKILL instance: events={total}x2 in_flight_on_A="
        f"{sum(len(v) for v in leased_on_a.values())} duplicates={len(duplicates)} "
        f"redelivered_within_s={max(redelivery):.2f} (visibility timeout {VISIBILITY_TIMEOUT:g}s)"
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("appendfsync", ["always", "everysec"])
async def test_redis_restarted_mid_load_loses_no_acknowledged_event(
    start_core: Callable[..., CoreProcess], tmp_path: Path, appendfsync: str
) -> None:
    """redis-server SIGKILLed under load and started again on its append-only file: with either fsync
    policy a process crash loses nothing acknowledged (docs/adapters.md#redis)."""
    server = RedisServer(tmp_path / "redis", appendfsync=appendfsync)
    server.start()
    try:
        await _restart_mid_load(start_core, server, tmp_path)
    finally:
        server.stop()


async def _restart_mid_load(start_core: Callable[..., CoreProcess], server: RedisServer, tmp_path: Path) -> None:
    out = tmp_path / "handled"
    out.mkdir()
    a = _start(start_core, server, out, "A")
    b = _start(start_core, server, out, "B")
    crash_after, outage, after_restart = 100, 2.0, 100
    posts = Posts()
    probes: list[tuple[str, int, float, str]] = []  # instance, status, seconds, message
    down_at = up_at = 0.0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        numbers = itertools.count()
        started = asyncio.Event()

        def enough() -> bool:  # `after_restart` posts answered since Redis came back
            return up_at > 0 and sum(1 for _, sent, _ in posts.answered if sent > up_at) >= after_restart

        async def poster() -> None:  # 4 of these: posts keep flowing to both instances throughout
            while not enough():
                n = next(numbers)
                await _post(http, (a, b)[n % 2], n, posts)
                if len(posts.acked) >= crash_after:
                    started.set()

        async def crash_and_restart() -> None:
            nonlocal down_at, up_at
            await started.wait()
            server.kill()  # SIGKILL mid-load: no shutdown, no final fsync
            down_at = time.monotonic()
            for core, name in ((a, "A"), (b, "B")):  # while Redis is down: a clear 503, quickly
                t0 = time.monotonic()
                async with http.post(f"{core.url}/emit", json={"topic": "work.item", "data": {"n": -1}}) as resp:
                    doc = await resp.json()
                    probes.append((name, resp.status, time.monotonic() - t0, str(doc.get("message", ""))))
            await asyncio.sleep(max(0.0, down_at + outage - time.monotonic()))
            server.start()  # the same port, directory and append-only file
            up_at = time.monotonic()

        await asyncio.gather(crash_and_restart(), *(poster() for _ in range(4)))

    assert not posts.failed, posts.failed[:5]  # every post got an HTTP answer, none hung
    for name, status, took, message in probes:
        assert status == 503, (name, status, message)
        assert took < 5.0, f"a call during the outage took {took:.2f}s on {name}"
        assert "Redis cannot be reached" in message and "not stored" in message, message
    assert posts.slowest < 10.0, f"a post took {posts.slowest:.2f}s"
    assert posts.refused, "no post met the outage"
    assert all(took < 5.0 for _, took, _ in posts.refused), sorted(t for _, t, _ in posts.refused)[-3:]
    after = [(n, status) for n, sent, status in posts.answered if sent > up_at]
    assert after and all(status == 200 for _, status in after), after[:5]  # new posts work again

    expected = {(n, lang) for n in posts.acked for lang in LANGS}
    missing = await _wait_handled(out, expected, timeout=60)
    assert missing == set(), f"lost {len(missing)} acknowledged: {sorted(missing)[:10]}"
    for core in (a, b):  # each core saw the outage, backed off and came back by itself
        core.wait_for_log(lambda d: "Redis cannot be reached while" in d.get("msg", "") and "retrying in" in d["msg"])
        core.wait_for_log(lambda d: "Redis is back after" in d.get("msg", ""), timeout=30)
    duplicates = sum(len(hs) - 1 for hs in _by_event(_handlings(out)).values())
    print(
        f"\n[redis chaos] Redis SIGKILL + restart ({server.appendfsync}): acked={len(posts.acked)} "
        f"refused={len(posts.refused)} lost=0 duplicates={duplicates} "
        f"slowest_refusal_s={max(t for _, t, _ in posts.refused):.2f} outage_s={up_at - down_at:.2f}"
    )


@pytest.mark.timeout(120)
async def test_a_redis_outage_longer_than_the_liveness_ttl_moves_no_live_instance_s_leases(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Redis away for longer than an instance's liveness key lives (10 s): when it is back, every
    instance's key has expired, yet both instances are alive and hold leases (handled, their acks
    waiting for Redis). The first instance to get Redis back must not take the other's leases as a
    dead instance's. Which one comes back first is a race of heartbeats and backoffs; the test
    decides it by freezing B's core (SIGSTOP) from just before Redis returns until 4 s after."""
    out = tmp_path / "handled"
    out.mkdir()
    # leases held for a second; no visibility-timeout reclaim; 6 slots per step and instance, so
    # neither instance can lease all 8 events before the other wakes (both must hold some)
    slow = {"RC_SLEEP": "1", "RC_VT": "900", "RC_CONC": "6"}
    a = _start(start_core, redis_server, out, "A", **slow)
    # B's runners must not be judged unresponsive for the seconds its core is frozen
    b = _start(start_core, redis_server, out, "B", MOTIA_HEARTBEAT_TIMEOUT="60", **slow)
    total = 8  # fewer than the 12 slots of the two: a pump with free slots keeps leasing through the outage
    posts = Posts()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(_post(http, (a, b)[n % 2], n, posts) for n in range(total)))
        assert posts.acked == set(range(total)), (posts.failed[:3], posts.refused[:3])
    await asyncio.sleep(0.5)  # both instances are mid-handler on their leases
    assert {h.instance for h in _handlings(out)} == {"A", "B"}
    redis_server.kill()
    await asyncio.sleep(10.5)  # past the liveness TTL: every key is gone
    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        redis_server.start()
        await asyncio.sleep(4.0)  # A is back, its pumps lease; B's key is still missing
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    expected = {(n, lang) for n in range(total) for lang in LANGS}
    missing = await _wait_handled(out, expected, timeout=60)
    assert missing == set(), f"lost {len(missing)}: {sorted(missing)[:10]}"
    await asyncio.sleep(3.0)  # a late takeover would show up now
    twice = {key: [h.instance for h in hs] for key, hs in _by_event(_handlings(out)).items() if len(hs) > 1}
    assert twice == {}, f"{len(twice)} events handled twice: {sorted(twice.items())[:8]}"
    a.wait_for_log(lambda d: "Redis is back after" in d.get("msg", ""))


@pytest.mark.timeout(120)
async def test_acks_held_through_a_long_redis_outage_land_when_it_returns(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer, client: redis.Redis, tmp_path: Path
) -> None:
    """Handlers that finish while Redis is away keep their acks until it answers again, however long
    that takes within the visibility timeout: their events are settled at once when Redis is back,
    not re-run when their leases run out (900 s here)."""
    out = tmp_path / "handled"
    out.mkdir()
    slow = {"RC_SLEEP": "1", "RC_VT": "900"}
    a = _start(start_core, redis_server, out, "A", **slow)
    b = _start(start_core, redis_server, out, "B", **slow)
    total = 8
    posts = Posts()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(_post(http, (a, b)[n % 2], n, posts) for n in range(total)))
    assert posts.acked == set(range(total)), (posts.failed[:3], posts.refused[:3])
    await asyncio.sleep(0.5)  # every delivery is leased and mid-handler
    assert unsettled(client) == 2 * total
    redis_server.kill()
    await asyncio.sleep(35.0)  # longer than any fixed patience of 30 s
    redis_server.start()
    for _ in range(100):  # up to 20 s: the acks waiting in both cores land
        if unsettled(client) == 0:
            break
        await asyncio.sleep(0.2)
    assert unsettled(client) == 0, "acks were dropped during the outage: their events wait for the 900 s lease"
    grouped = _by_event(_handlings(out))
    assert set(grouped) == {(n, lang) for n in range(total) for lang in LANGS}
    assert all(len(hs) == 1 for hs in grouped.values())
