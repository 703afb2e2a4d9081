"""A load of 1 MB bodies on a starved CPU must not take a runner down.

The core, its runners and a few busy-loop competitors (each in its own session, so the kernel's
autogroup scheduling gives each a fair share) share one CPU while many clients POST 1 MB JSON
bodies to a TypeScript and a Python echo step. Before the heartbeat discounted the core's own
loop stalls, the silence clock ran while the core itself was too busy to send the ping or read the
pong, and both runners (even the idle one) were SIGKILLed as "stopped answering pings" mid-run.
The byte credit (runners/credit.py) keeps what one runner holds small enough to answer in time.

The assertions are outcomes, never timings: no runner was restarted, no heartbeat kill was logged,
and every request got a 200 with its body echoed, or a clean 503/413, never a reset connection.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import CoreProcess

BODY = json.dumps({"data": "x" * (1_000_000 - 11)}).encode()
# a tight heartbeat makes the test sensitive: the bug it guards against killed runners at 5 s
HEARTBEAT = {"MOTIA_HEARTBEAT_INTERVAL": "0.5", "MOTIA_HEARTBEAT_TIMEOUT": "2.5"}
CLIENTS = 48
LOAD_SECONDS = 20.0
COMPETITORS = 8


def _pin(pid: int, cpu: int) -> None:
    """Every thread of `pid` (grpc and libuv threads already exist) onto `cpu`."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], check=True, capture_output=True)


def _runners(core: CoreProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(core.url + "/__motia/runners", timeout=30) as resp:
        runners: list[dict[str, Any]] = json.loads(resp.read())["runners"]
    return runners


def _client(core: CoreProcess, path: str, until: float, outcomes: list[str], lock: threading.Lock) -> None:
    expected = json.loads(BODY)
    while time.monotonic() < until:
        conn = http.client.HTTPConnection("127.0.0.1", core.port, timeout=120)
        try:
            conn.request("POST", path, body=BODY, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 200:
                outcome = "200" if json.loads(data) == expected else f"200 with a different body ({len(data)} bytes)"
            elif resp.status in (413, 503):
                outcome = str(resp.status)
            else:
                outcome = f"{resp.status}: {data[:300]!r}"
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        with lock:
            outcomes.append(f"{path} {outcome}")


@pytest.mark.chaos
@pytest.mark.timeout(300)
def test_large_bodies_on_a_starved_cpu_never_take_a_runner_down(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("k2_bodies", "--log-level", "info", env=HEARTBEAT)
    cpu = max(os.sched_getaffinity(0))
    before = _runners(core)
    assert {r["runtime"] for r in before} == {"node", "python"}, before
    competitors: list[subprocess.Popen[bytes]] = []
    try:
        _pin(core.proc.pid, cpu)
        for runner in before:
            _pin(runner["pid"], cpu)
        for _ in range(COMPETITORS):
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            competitors.append(hog)
            _pin(hog.pid, cpu)
        outcomes: list[str] = []
        lock = threading.Lock()
        until = time.monotonic() + LOAD_SECONDS
        clients = [
            threading.Thread(target=_client, args=(core, ("/echo/ts", "/echo/py")[i % 2], until, outcomes, lock))
            for i in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(240)
        assert not any(client.is_alive() for client in clients), "a client never got its answer"
    finally:
        for hog in competitors:
            hog.kill()
            hog.wait(10)
    after = _runners(core)
    kills = core.find_logs(lambda d: "stopped answering pings" in d.get("msg", ""))
    assert kills == [], kills
    assert [(r["runtime"], r["pid"], r["restarts"]) for r in after] == [(r["runtime"], r["pid"], 0) for r in before], (
        after
    )
    bad = [o for o in outcomes if o.split(" ", 1)[1] not in ("200", "503", "413")]
    assert bad == [], bad[:10]
    for path in ("/echo/ts", "/echo/py"):
        assert any(o == f"{path} 200" for o in outcomes), f"no request to {path} succeeded: {outcomes[:10]}"


# -- byte credit (runners/credit.py): what bounds the input one runner holds ---------------------------


async def test_byte_credit_holds_inputs_beyond_the_limit_until_earlier_ones_end() -> None:
    from motia_core.runners.credit import ByteCredit

    credit = ByteCredit(limit=10)
    assert credit.try_take(6)
    later = asyncio.ensure_future(credit.take(6))  # 12 > 10: waits
    small = asyncio.ensure_future(credit.take(1))  # fits, but FIFO: behind the waiting one
    await asyncio.sleep(0)
    assert not later.done() and not small.done()
    credit.give(6)
    await asyncio.gather(later, small)
    assert credit.used == 7


async def test_byte_credit_lets_one_oversized_input_through_alone() -> None:
    from motia_core.runners.credit import ByteCredit

    credit = ByteCredit(limit=10)
    assert credit.try_take(50)  # nothing in flight: a single large input still goes
    assert not credit.try_take(1)
    credit.give(50)
    assert credit.try_take(1)


async def test_byte_credit_a_cancelled_waiter_gives_way() -> None:
    from motia_core.runners.credit import ByteCredit

    credit = ByteCredit(limit=10)
    assert credit.try_take(8)
    big = asyncio.ensure_future(credit.take(9))
    small = asyncio.ensure_future(credit.take(2))
    await asyncio.sleep(0)
    big.cancel()
    with pytest.raises(asyncio.CancelledError):
        await big
    await asyncio.wait_for(small, 5)  # no longer stuck behind the cancelled one
    assert credit.used == 10
