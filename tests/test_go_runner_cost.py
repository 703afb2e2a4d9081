"""The go runner under concurrent load (issue 15): handlers on reused goroutines and answers coalesced
into frames still give every request its own answer, and MOTIA_GO_CPUPROFILE writes a CPU profile of
the runner (runners/go/README.md, "Cost per invocation"). The batching itself is proved by the Go
unit test TestOutboxSettleBatchesAnswersOfRunnableHandlers (run by test_go_launcher.py)."""

from __future__ import annotations

import asyncio
import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import CoreProcess

pytestmark = [
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
    pytest.mark.timeout(300),  # a cold Go build cache compiles grpc-go first
]


async def _echo_many(core: CoreProcess, n: int, concurrency: int) -> list[tuple[int, bytes, bytes]]:
    """POST n distinct binary bodies to the Go echo step, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(session: aiohttp.ClientSession, i: int) -> tuple[int, bytes, bytes]:
        body = f"request {i} ".encode() * (1 + i % 7) + bytes([i % 256])
        async with gate:
            async with session.post(
                f"{core.url}/go/bytes",
                data=body,
                headers={"content-type": "application/octet-stream", "x-many": f"{i}"},
            ) as resp:
                return resp.status, body, await resp.read()

    async with aiohttp.ClientSession() as session:
        return await asyncio.gather(*(one(session, i) for i in range(n)))


async def test_concurrent_go_invocations_each_get_their_own_answer(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("go_hello")
    answers = await _echo_many(core, 600, 64)
    wrong = [(status, sent[:20], got[:20]) for status, sent, got in answers if status != 200 or got != sent]
    assert not wrong, f"{len(wrong)} of 600 concurrent requests got another answer: {wrong[:3]}"


async def test_motia_go_cpuprofile_writes_a_pprof_profile_when_the_runner_stops(
    start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    profile = tmp_path / "go-runner.pprof"
    core = start_core("go_hello", env={"MOTIA_GO_CPUPROFILE": str(profile)})
    answers = await _echo_many(core, 300, 16)
    assert all(status == 200 for status, _, _ in answers)
    assert not profile.exists() or profile.stat().st_size == 0  # written when the runner stops
    assert core.stop() == 0
    data = gzip.decompress(profile.read_bytes())  # pprof: a gzipped profile.proto
    assert b"samples" in data and b"nanoseconds" in data, data[:200]
    assert core.find_logs(lambda r: "writing a CPU profile to" in str(r))


async def test_an_unwritable_cpuprofile_path_is_reported_and_the_runner_still_serves(
    start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "go.pprof"
    core = start_core("go_hello", env={"MOTIA_GO_CPUPROFILE": str(missing)})
    answers = await _echo_many(core, 5, 5)
    assert all(status == 200 and got == sent for status, sent, got in answers)
    core.wait_for_log(lambda r: "MOTIA_GO_CPUPROFILE: cannot create" in str(r))
