"""The Ruby runner runs short handlers inline on its reader (runners/ruby/lib/motia_runner/reader.rb,
inline_policy.rb), end to end with the real core on tests/fixtures/rbinline_project.

A step is learned as short on the worker pool, then runs on the reader thread ("motia-reader"); one
that blocks there after all (sleep, a context call, a handler timeout's cancel) hands the reading to
another thread, so the other requests are answered meanwhile, and the runner is never restarted.
The handlers report `Thread.current.name`, which is how the tests see where they ran.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture

pytestmark = pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed")

LEARN_LIMIT = 400  # requests before a no-op step must run inline (it needs 16 short runs)


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("rbinline_project", tmp_path_factory.mktemp("rbinline"))
    process = CoreProcess(project)
    process.wait_ready()
    yield process
    process.stop()


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as resp:
        return resp.status, await resp.json(content_type=None)


async def _learn(session: aiohttp.ClientSession, url: str, fresh: bool = True) -> None:
    """Call `url` until its handler runs on the reader thread (`fresh`: a step not run before)."""
    threads = []
    for _ in range(LEARN_LIMIT):
        status, body = await _get(session, url)
        assert status == 200, body
        threads.append(body["thread"])
        if body["thread"] == "motia-reader":
            break
    assert threads[-1] == "motia-reader", f"never ran inline: {sorted(set(threads))}"
    if fresh:
        assert threads[0].startswith("motia-worker"), threads[0]  # learned on the pool first


@pytest.mark.timeout(120)
async def test_a_sleeping_inline_handler_does_not_stall_the_other_requests(core: CoreProcess) -> None:
    pid = core.runner_pids()["ruby"]
    async with aiohttp.ClientSession() as session:
        await _learn(session, f"{core.url}/nap")
        await _learn(session, f"{core.url}/fast")
        nap = asyncio.create_task(_get(session, f"{core.url}/nap?sleep=6"))
        await asyncio.sleep(0.5)  # the nap is in its handler, on the reader thread
        answered = [await _get(session, f"{core.url}/fast") for _ in range(20)]
        assert not nap.done(), "the fast requests were answered while the nap still slept"
        assert [status for status, _ in answered] == [200] * 20
        status, body = await nap
        assert (status, body["thread"]) == (200, "motia-reader")  # it ran inline and was taken over
        # Taken over: the nap step goes back to the pool; the fast one stays inline.
        status, body = await _get(session, f"{core.url}/nap")
        assert (status, body["thread"][:12]) == (200, "motia-worker")
        status, body = await _get(session, f"{core.url}/fast")
        assert (status, body["thread"]) == (200, "motia-reader")
    assert core.runner_pids()["ruby"] == pid


@pytest.mark.timeout(120)
async def test_inline_handlers_that_raise_or_call_the_core_answer(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        # Both ran in the test above (/nap went back to the pool there): until they run inline.
        await _learn(session, f"{core.url}/fast", fresh=False)
        await _learn(session, f"{core.url}/nap", fresh=False)
        async with session.get(f"{core.url}/nap?raise=1") as resp:
            assert resp.status == 500, await resp.text()
        status, body = await _get(session, f"{core.url}/nap")
        assert (status, body["thread"]) == (200, "motia-reader")  # a raise does not move the step
        status, body = await _get(session, f"{core.url}/nap?state=yes")  # a call: the reading is handed over
        assert (status, body["thread"]) == (200, "motia-reader")
        status, body = await _get(session, f"{core.url}/nap")
        assert (status, body["thread"][:12]) == (200, "motia-worker")  # a step that calls stays on the pool


@pytest.mark.timeout(120)
async def test_an_inline_handler_past_its_timeout_is_cancelled(core: CoreProcess) -> None:
    pid = core.runner_pids()["ruby"]
    async with aiohttp.ClientSession() as session:
        await _learn(session, f"{core.url}/stall")
        async with session.get(f"{core.url}/stall?sleep=60") as resp:
            assert resp.status == 504, await resp.text()
        line = core.wait_for_log(lambda d: d.get("msg") == "stall ended" and d.get("cancelled") is True, timeout=30)
        assert line["thread"] == "motia-reader"  # interrupted where it slept, on the old reader thread
        status, body = await _get(session, f"{core.url}/fast")
        assert status == 200, body
    assert core.runner_pids()["ruby"] == pid  # cancelled, not restarted
