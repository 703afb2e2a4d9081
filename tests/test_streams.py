"""Streams end to end: a real core, real Node and Python runners, plain WebSocket clients and Motia's
own npm client (@motiadev/stream-client-node 0.17.6-beta.187) on tests/fixtures/streams."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture
from tests.stream_client.harness import NodeClient, WsClient, wait_until


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("streams", tmp_path_factory.mktemp("streams"))
    proc = CoreProcess(project)
    proc.wait_ready()
    yield proc
    proc.stop()


async def op(url: str, language: str, **body: Any) -> tuple[int, Any]:
    """Run one ctx.streams operation inside a TypeScript ("ts") or Python ("py") handler."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/{language}/streams", json=body) as resp:
            return resp.status, await resp.json()


async def test_handler_api_in_both_languages(core: CoreProcess) -> None:
    for lang in ("ts", "py"):
        group = f"api-{lang}"
        status, doc = await op(core.url, lang, stream="messages", op="get", groupId=group, id="a")
        assert (status, doc) == (200, {"result": None})
        status, doc = await op(core.url, lang, stream="messages", op="set", groupId=group, id="a", data={"text": "1"})
        assert (status, doc["result"]) == (200, {"text": "1", "id": "a"})  # decorated with its id
        await op(core.url, lang, stream="messages", op="set", groupId=group, id="b", data={"text": "2", "id": "x"})
        await op(core.url, lang, stream="messages", op="set", groupId=group, id="a", data={"text": "1b"})
        _, doc = await op(core.url, lang, stream="messages", op="getGroup", groupId=group)
        # creation order, updates keep their place; the id argument wins over an id in the data
        assert doc["result"] == [{"text": "1b", "id": "a"}, {"text": "2", "id": "b"}]
        _, doc = await op(core.url, lang, stream="messages", op="delete", groupId=group, id="a")
        assert doc["result"] == {"text": "1b", "id": "a"}
        _, doc = await op(core.url, lang, stream="messages", op="delete", groupId=group, id="a")
        assert doc["result"] is None
        _, doc = await op(core.url, lang, stream="messages", op="getGroup", groupId=group)
        assert doc["result"] == [{"text": "2", "id": "b"}]
        # what one language wrote, the other reads
    _, doc = await op(core.url, "py", stream="messages", op="get", groupId="api-ts", id="b")
    assert doc["result"] == {"text": "2", "id": "b"}


async def test_sync_def_handler_gets_values(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{core.url}/py/sync-streams", json={"groupId": "sync", "id": "1", "text": "t"}
        ) as resp:
            assert resp.status == 200
            doc = await resp.json()
    assert doc == {"item": {"text": "t", "id": "1"}, "group": [{"text": "t", "id": "1"}]}


@pytest.mark.parametrize("lang", ["ts", "py"])
async def test_undeclared_stream_is_a_clear_error(core: CoreProcess, lang: str) -> None:
    status, doc = await op(core.url, lang, stream="nope", op="get", groupId="g", id="1")
    assert status == 400
    assert "stream 'nope' is not declared in this project" in doc["error"]
    assert "declared streams: audit, messages, private, todo" in doc["error"]


@pytest.mark.parametrize("lang", ["ts", "py"])
async def test_items_must_be_objects(core: CoreProcess, lang: str) -> None:
    status, doc = await op(core.url, lang, stream="messages", op="set", groupId="g", id="1", data=[1, 2])
    assert status == 400 and "object" in doc["error"]


async def test_group_sync_then_create_update_delete(core: CoreProcess) -> None:
    await op(core.url, "ts", stream="todo", op="set", groupId="life", id="old", data={"text": "before join"})
    client = await WsClient.connect(core.url)
    try:
        sync = await client.join_synced("todo", "life")
        assert sync["event"] == {"type": "sync", "data": [{"text": "before join", "id": "old"}]}
        assert "id" not in sync and isinstance(sync["timestamp"], int)
        await op(core.url, "ts", stream="todo", op="set", groupId="life", id="n", data={"text": "a"})
        await op(core.url, "py", stream="todo", op="set", groupId="life", id="n", data={"text": "b"})
        await op(core.url, "ts", stream="todo", op="delete", groupId="life", id="n")
        events = [m["event"] for m in await client.wait_for(lambda m: m["event"]["type"] != "sync", count=3)]
        assert events == [
            {"type": "create", "data": {"text": "a", "id": "n"}},
            {"type": "update", "data": {"text": "b", "id": "n"}},
            {"type": "delete", "data": {"text": "b", "id": "n"}},
        ]
        stamps = [m["timestamp"] for m in client.messages]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # strictly increasing
        assert all(m["streamName"] == "todo" and m["groupId"] == "life" for m in client.messages)
        assert all(m["id"] == "n" for m in client.messages[1:])
    finally:
        await client.close()


async def test_multi_client_fan_out(core: CoreProcess) -> None:
    # any path upgrades, also one an API step serves with GET (which still answers plain requests)
    clients = [await WsClient.connect(core.url, path) for path in ("/", "/any/path", "/?x=1", "/hello")]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{core.url}/hello") as resp:
                assert await resp.json() == {"hello": "world"}
        for c in clients:
            await c.join_synced("messages", "fan")
        await op(core.url, "py", stream="messages", op="set", groupId="fan", id="m", data={"text": "hello"})
        for c in clients:
            [msg] = await c.wait_for(lambda m: m["event"]["type"] == "create")
            assert msg["event"]["data"] == {"text": "hello", "id": "m"}
    finally:
        for c in clients:
            await c.close()


async def test_group_vs_item_subscriptions(core: CoreProcess) -> None:
    group_sub, item_sub, other_item, both = [await WsClient.connect(core.url) for _ in range(4)]
    try:
        await group_sub.join_synced("todo", "gv")
        assert (await item_sub.join_synced("todo", "gv", "i1"))["event"] == {"type": "sync", "data": None}
        await other_item.join_synced("todo", "gv", "i2")
        await both.join_synced("todo", "gv")
        await both.join_synced("todo", "gv", "i1")
        await op(core.url, "ts", stream="todo", op="set", groupId="gv", id="i1", data={"text": "one"})
        # item events reach the item's and the group's subscribers (once per connection)
        for c in (group_sub, item_sub, both):
            await c.wait_for(lambda m: m["event"]["type"] == "create")
        # a custom event for the group reaches group subscribers only; one for an item, both kinds
        await op(core.url, "ts", stream="todo", op="send", groupId="gv", event={"type": "g-ping", "data": 1})
        await op(
            core.url, "py", stream="todo", op="send", groupId="gv", id="i1", event={"type": "i-ping", "data": {"x": 2}}
        )
        for c in (group_sub, item_sub, both):
            await c.wait_for(lambda m: m["event"].get("event", {}).get("type") == "i-ping")
        await group_sub.wait_for(lambda m: m["event"].get("event", {}).get("type") == "g-ping")
        ping = next(m for m in item_sub.messages if m["event"]["type"] == "event")
        assert ping["id"] == "i1" and ping["event"] == {"type": "event", "event": {"type": "i-ping", "data": {"x": 2}}}
        assert [m["event"]["type"] for m in item_sub.events()] == ["create", "event"]
        assert [m["event"]["type"] for m in both.events()] == ["create", "event", "event"]
        assert other_item.events() == []
    finally:
        for c in (group_sub, item_sub, other_item, both):
            await c.close()


async def test_leave_stops_events(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url)
    try:
        sub = await client.join("messages", "leave")
        await client.wait_for(lambda m: m["event"]["type"] == "sync")
        await client.leave("messages", "leave", None, sub)
        await client.join_synced("messages", "leave-2")  # messages are handled in order: the leave is done
        await op(core.url, "ts", stream="messages", op="set", groupId="leave", id="1", data={"text": "x"})
        await op(core.url, "ts", stream="messages", op="set", groupId="leave-2", id="1", data={"text": "y"})
        await client.wait_for(lambda m: m["groupId"] == "leave-2" and m["event"]["type"] == "create")
        assert not [m for m in client.events() if m["groupId"] == "leave"]
    finally:
        await client.close()


async def test_unknown_stream_join_gets_an_error_event(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url)
    try:
        msg = await client.join_synced("nope", "g")
        assert msg["event"]["type"] == "event"
        error = msg["event"]["event"]
        assert error["type"] == "error" and error["data"]["code"] == "STREAM_NOT_FOUND"
        assert "todo" in error["data"]["message"]
    finally:
        await client.close()


@pytest.mark.parametrize("lang", ["ts", "py"])
async def test_per_item_ordering_of_a_burst(core: CoreProcess, lang: str) -> None:
    """Non-awaited sets of one item, from one handler: every subscriber sees them in call order."""
    group = f"order-{lang}"
    item_client, group_client = await WsClient.connect(core.url), await WsClient.connect(core.url)
    try:
        await item_client.join_synced("todo", group, "x")
        await group_client.join_synced("todo", group)
        status, _ = await op(core.url, lang, stream="todo", op="burst", groupId=group, id="x", count=300)
        assert status == 200
        for c in (item_client, group_client):
            events = await c.wait_for(lambda m: m["event"]["type"] in ("create", "update"), count=300)
            assert [m["event"]["data"]["n"] for m in events] == list(range(1, 301))
            assert events[0]["event"]["type"] == "create"
    finally:
        await item_client.close()
        await group_client.close()


async def test_reconnect_resyncs(core: CoreProcess) -> None:
    first = await WsClient.connect(core.url)
    await first.join_synced("todo", "resync")
    await op(core.url, "ts", stream="todo", op="set", groupId="resync", id="1", data={"text": "seen"})
    await first.wait_for(lambda m: m["event"]["type"] == "create")
    await first.close()
    # changes while disconnected
    await op(core.url, "py", stream="todo", op="set", groupId="resync", id="1", data={"text": "missed"})
    await op(core.url, "py", stream="todo", op="set", groupId="resync", id="2", data={"text": "new"})
    again = await WsClient.connect(core.url)
    try:
        sync = await again.join_synced("todo", "resync")
        assert sync["event"]["data"] == [{"text": "missed", "id": "1"}, {"text": "new", "id": "2"}]
    finally:
        await again.close()


async def test_real_client_sees_ts_api_then_python_event_in_order(core: CoreProcess) -> None:
    """A TS API step creates the item, a Python event step updates it; Motia's client sees
    sync, create, update, in that order, in both an item and a group subscription."""
    client = await NodeClient.start(
        core.url,
        [
            {"name": "item", "kind": "item", "stream": "todo", "groupId": "real", "id": "t1"},
            {"name": "group", "kind": "group", "stream": "todo", "groupId": "real"},
        ],
    )
    try:
        await client.state_of("item", lambda s: s is None)  # the item sync: nothing yet
        await client.state_of("group", lambda s: s == [])
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{core.url}/todos/real/t1", json={"text": "write docs"}) as resp:
                assert resp.status == 200
                assert await resp.json() == {"text": "write docs", "done": False, "id": "t1"}
        final = {"text": "write docs", "done": False, "id": "t1", "touchedBy": "python"}
        assert await client.state_of("item", lambda s: s == final) == final
        assert await client.state_of("group", lambda s: s == [final]) == [final]
        item_events = [m["event"]["type"] for m in client.raw() if m.get("id") == "t1"]
        assert item_events == ["sync", "create", "update"]
        states = [d["state"] for d in client.of("change", "item")]
        assert states == [None, {"text": "write docs", "done": False, "id": "t1"}, final]
    finally:
        await client.close()


async def test_real_client_sees_ts_and_python_writes_and_events(core: CoreProcess) -> None:
    client = await NodeClient.start(
        core.url, [{"name": "msgs", "kind": "group", "stream": "messages", "groupId": "chat", "events": ["typing"]}]
    )
    try:
        await client.state_of("msgs", lambda s: s == [])
        await op(core.url, "ts", stream="messages", op="set", groupId="chat", id="1", data={"text": "from ts"})
        await op(core.url, "py", stream="messages", op="set", groupId="chat", id="2", data={"text": "from py"})
        await op(
            core.url,
            "py",
            stream="messages",
            op="send",
            groupId="chat",
            event={"type": "typing", "data": {"who": "py"}},
        )
        expected = [{"text": "from ts", "id": "1"}, {"text": "from py", "id": "2"}]
        assert await client.state_of("msgs", lambda s: s == expected) == expected
        event = await client.wait_for(lambda d: d["t"] == "event")
        assert event == {"t": "event", "sub": "msgs", "type": "typing", "data": {"who": "py"}}
    finally:
        await client.close()


async def test_introspection_routes(core: CoreProcess) -> None:
    await op(core.url, "ts", stream="todo", op="set", groupId="intro", id="1", data={"text": "i"})
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{core.url}/__motia/streams/list") as resp:
            doc = await resp.json()
        names = {s["name"]: s for s in doc["streams"]}
        assert set(names) == {"todo", "messages", "private", "audit"}
        assert names["todo"]["filePath"] == "steps/streams/todo.stream.ts"
        assert names["todo"]["schema"]["properties"]["text"] == {"type": "string"}  # zod, converted
        assert names["messages"]["schema"]["title"] == "Message"  # pydantic, converted
        async with session.get(f"{core.url}/__motia/streams/group/todo/intro") as resp:
            assert await resp.json() == [{"text": "i", "id": "1"}]
        async with session.get(f"{core.url}/__motia/streams/item/todo/intro/1") as resp:
            assert await resp.json() == {"text": "i", "id": "1"}
        async with session.get(f"{core.url}/__motia/streams/item/nope/intro/1") as resp:
            assert resp.status == 404
    await wait_until(lambda: True)


async def test_real_client_reconnects_and_resyncs_after_a_core_restart(
    start_core: Callable[..., CoreProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items survive a restart (SQLite); Motia's client reconnects on its own and re-joins."""
    first = start_core("streams")
    await op(first.url, "ts", stream="todo", op="set", groupId="restart", id="1", data={"text": "before"})
    client = await NodeClient.start(first.url, [{"name": "g", "kind": "group", "stream": "todo", "groupId": "restart"}])
    try:
        await client.state_of("g", lambda s: s == [{"text": "before", "id": "1"}])
        assert first.stop() == 0
        await client.wait_for(lambda d: d["t"] == "close")
        # the same address for the new core (patched where the fixture's CoreProcess looks it up)
        monkeypatch.setattr(sys.modules[type(first).__module__], "free_port", lambda: first.port)
        second = start_core("streams")
        await op(second.url, "py", stream="todo", op="set", groupId="restart", id="2", data={"text": "after"})
        expected = [{"text": "before", "id": "1"}, {"text": "after", "id": "2"}]
        assert await client.state_of("g", lambda s: s == expected) == expected
        assert len(client.of("open")) == 2
        syncs = [m for m in client.raw() if m["event"]["type"] == "sync"]
        assert len(syncs) == 2 and syncs[1]["event"]["data"] == expected
    finally:
        await client.close()
