"""State changes on the live socket (http/live_state.py, state/observed.py; docs/observability.md#state).

In process: the notices over a real SQLite state store (what is told, coalescing, order, bounds).
End to end: a real core on SQLite and on Redis, a Python handler's and the admin API's writes read from
WS /__motia/live as the Workbench reads them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from motia_core.errors import StorageUnavailable
from motia_core.http import live_state
from motia_core.http.live_state import StateNotices
from motia_core.state.observed import ObservedState
from motia_core.state.sqlite import SqliteStateStore
from tests.conftest import CoreProcess
from tests.redis_server import RedisServer

# -- in process --------------------------------------------------------------------------------------


class _Client:
    """Stands for one live socket's buffer (admin_live._Client.send)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, data: bytes) -> None:
        self.sent.append(json.loads(data))


class _Feed:
    def __init__(self) -> None:
        self.clients: set[Any] = set()


def _wired(tmp_path: Path, connected: bool = True) -> tuple[ObservedState, StateNotices, _Client]:
    feed, client = _Feed(), _Client()
    if connected:
        feed.clients.add(client)
    notices = StateNotices(feed)  # type: ignore[arg-type]  # the two attributes it reads
    return ObservedState(SqliteStateStore(tmp_path / "state.db"), notices.changed), notices, client


async def _window() -> None:
    await asyncio.sleep(live_state.WINDOW * 3)


async def test_a_window_of_writes_is_one_message_in_the_order_of_the_last_changes(tmp_path: Path) -> None:
    state, _, client = _wired(tmp_path)
    await state.set("g", "a", b'{"v":1}')
    await state.set("g", "b", b'"two"')
    await state.set("g", "a", b'{"v":3}')  # a's last change comes after b's: it moves behind it
    await state.delete("g", "b")
    await state.delete("g", "missing")  # nothing was there: nothing changed, nothing told
    await _window()
    assert client.sent == [
        {
            "type": "state",
            "changes": [
                {"group": "g", "key": "a", "op": "set", "value": {"v": 3}},
                {"group": "g", "key": "b", "op": "delete"},
            ],
        }
    ]
    await _window()
    assert len(client.sent) == 1  # nothing new: no empty message


async def test_a_clear_voids_the_groups_earlier_changes_and_later_ones_follow_it(tmp_path: Path) -> None:
    state, _, client = _wired(tmp_path)
    await state.set("g", "a", b"1")
    await state.set("h", "x", b"2")
    await state.clear("g")
    await state.set("g", "b", b"3")
    await _window()
    [message] = client.sent
    assert message["changes"] == [
        {"group": "h", "key": "x", "op": "set", "value": 2},
        {"group": "g", "op": "clear"},
        {"group": "g", "key": "b", "op": "set", "value": 3},
    ]
    assert [k for k, _ in await state.items("g")] == ["b"]  # what a client applying them in order holds


async def test_big_values_are_left_for_the_client_to_fetch(tmp_path: Path) -> None:
    state, _, client = _wired(tmp_path)
    big = json.dumps({"blob": "x" * live_state.INLINE_VALUE}).encode()
    await state.set("g", "big", big)
    await state.set("g", "small", b"[1]")
    await _window()
    [message] = client.sent
    assert message["changes"] == [
        {"group": "g", "key": "big", "op": "set"},
        {"group": "g", "key": "small", "op": "set", "value": [1]},
    ]


async def test_past_the_bounds_a_group_is_changed_then_everything_resyncs(tmp_path: Path) -> None:
    _, notices, client = _wired(tmp_path)
    for n in range(live_state.PENDING_KEYS):
        notices.changed("full", f"k{n}", "set", b"1")
    notices.changed("other", "k", "set", b"2")  # one key too many: "other" becomes a group to refetch
    notices.changed("other", "k2", "delete", None)
    await _window()
    [message] = client.sent
    assert message["changes"][-1] == {"group": "other", "op": "changed"}
    assert len(message["changes"]) == live_state.PENDING_KEYS + 1
    assert not [c for c in message["changes"] if c["group"] == "other" and c["op"] != "changed"]
    client.sent.clear()
    for n in range(live_state.PENDING_KEYS):
        notices.changed("full", f"k{n}", "set", b"1")
    for n in range(live_state.PENDING_GROUPS + 1):
        notices.changed(f"g{n}", "k", "set", b"1")
    await _window()
    assert client.sent == [{"type": "state", "resync": True}]


async def test_nothing_is_noted_without_a_client_or_when_the_store_refused(tmp_path: Path) -> None:
    state, notices, client = _wired(tmp_path, connected=False)
    await state.set("g", "a", b"1")
    await _window()
    assert client.sent == [] and notices._timer is None  # no socket open: not even a timer
    connected, _, seen = _wired(tmp_path / "b")
    (tmp_path / "b" / "state.db").unlink()  # the file deleted under the core: writes are refused
    with pytest.raises(StorageUnavailable):
        await connected.set("g", "a", b"1")
    await _window()
    assert seen.sent == []


# -- a real core ------------------------------------------------------------------------------------


async def _post(core: CoreProcess, method: str, path: str, body: object) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, core.url + path, json=body, headers={"Content-Type": "application/json"}) as r,
    ):
        return r.status, await r.json()


async def _changes(ws: aiohttp.ClientWebSocketResponse, until: Callable[[list[dict[str, Any]]], bool]) -> list[Any]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while not until(seen):
        assert time.monotonic() < deadline, f"state changes not seen in time; seen: {seen}"
        message = await ws.receive_json(timeout=20)
        if message["type"] == "state":
            seen.extend(message.get("changes", []))
    return seen


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_handler_and_admin_writes_reach_the_live_socket(
    backend: str, start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    redis: RedisServer | None = None
    if backend == "redis":
        redis = RedisServer(tmp_path / "redis")
        redis.start()
    try:
        core = start_core("sl_app", *(["--redis", redis.url] if redis is not None else []))
        url = core.url.replace("http", "ws") + "/__motia/live"
        async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
            await asyncio.sleep(0.2)  # the socket is registered before the first write
            body = {"group": "sl", "key": "k", "op": "set", "value": {"who": "python"}, "times": 40}
            assert (await _post(core, "POST", "/sl/write", body))[0] == 200
            seen = await _changes(ws, lambda c: any(x.get("value", {}).get("n") == 39 for x in c))
            # the last value arrives (earlier ones only while a window closed between writes)
            assert all(
                x == {"group": "sl", "key": "k", "op": "set", "value": {"who": "python", "n": x["value"]["n"]}}
                for x in seen
            )
            assert (await _post(core, "PUT", "/__motia/state/sl/admin", {"by": "api"}))[0] == 200
            assert await _changes(ws, bool) == [{"group": "sl", "key": "admin", "op": "set", "value": {"by": "api"}}]
            assert (await _post(core, "DELETE", "/__motia/state/sl/admin", None))[0] == 200
            assert await _changes(ws, bool) == [{"group": "sl", "key": "admin", "op": "delete"}]
            assert (await _post(core, "POST", "/sl/write", {"group": "sl", "op": "clear"}))[0] == 200
            assert await _changes(ws, bool) == [{"group": "sl", "op": "clear"}]
    finally:
        if redis is not None:
            redis.stop()
