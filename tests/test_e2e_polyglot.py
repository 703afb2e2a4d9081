"""Four languages in one chain: TS API -> Python event -> Ruby event -> JS event, one trace, shared state."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.conftest import ROOT, CoreProcess

pytestmark = pytest.mark.skipif(
    shutil.which("ruby") is None or not (ROOT / "runners/ruby/bin/motia-ruby-runner").is_file(),
    reason="needs ruby (apt: ruby ruby-grpc, installed by `make install`) and the Ruby runner",
)


async def test_four_language_chain_shares_state_and_one_trace(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("polyglot")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/orders", json={"item": "book"}) as resp:
            assert resp.status == 200, await resp.text()
            trace_id = (await resp.json())["traceId"]
        order: dict[str, Any] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            async with session.get(f"{core.url}/orders/{trace_id}") as resp:
                order = await resp.json()
            if order.get("closed"):
                break
            await asyncio.sleep(0.05)
        async with session.get(f"{core.url}/__motia/traces/{trace_id}") as resp:
            trace = await resp.json()
    assert order == {
        "item": "book",
        "hops": ["typescript", "python", "ruby", "javascript"],
        "price": 42,
        "carrier": "ruby-express",
        "closed": True,
        "seenHops": 3,
    }
    spans = trace["spans"]
    assert [(s["step"], s["language"]) for s in spans] == [
        ("StartOrder", "typescript"),
        ("PriceOrder", "python"),
        ("ShipOrder", "ruby"),
        ("CloseOrder", "javascript"),
    ]
    assert all(s["status"] == "completed" and s["traceId"] == trace_id for s in spans)
    starts = [s["startTime"] for s in spans]
    assert starts == sorted(starts)
    line = core.wait_for_log(lambda d: d.get("msg") == "shipping" and d.get("traceId") == trace_id)
    assert line["step"] == "ShipOrder" and line["language"] == "ruby" and line["price"] == 42
