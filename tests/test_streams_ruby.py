"""Streams from Ruby, end to end: a real core on tests/fixtures/ruby_streams, where the `todo` stream is
declared in Ruby (steps/streams/todo_stream.rb), Ruby handlers write it, a Ruby `canAccess`
(steps/streams/private.stream.rb) and a Ruby stream auth file (steps/stream_auth.rb) guard the joins,
and plain aiohttp WebSocket clients watch. A Python and a TypeScript step write the same streams."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture
from tests.stream_client.harness import WsClient

pytestmark = pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed")

DENIED = {
    "type": "event",
    "event": {"type": "error", "data": {"code": "STREAM_ACCESS_DENIED", "message": "Access denied"}},
}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("ruby_streams", tmp_path_factory.mktemp("ruby-streams"))
    proc = CoreProcess(project)
    proc.wait_ready()
    yield proc
    proc.stop()


async def op(url: str, language: str, **body: Any) -> tuple[int, Any]:
    """Run one ctx.streams operation inside a Ruby ("rb"), Python ("py") or TypeScript ("ts") handler."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/{language}/streams", json=body) as resp:
            return resp.status, await resp.json()


def _non_sync(client: WsClient) -> list[dict[str, Any]]:
    return [m["event"] for m in client.events()]


async def test_streams_are_listed_with_their_ruby_files(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{core.url}/__motia/streams/list") as resp:
            assert resp.status == 200
            doc = await resp.json()
    streams = {s["name"]: s for s in doc["streams"]}
    assert set(streams) == {"todo", "private"}
    assert streams["todo"]["filePath"].endswith("steps/streams/todo_stream.rb")
    assert streams["todo"]["schema"]["required"] == ["text"]
    assert streams["private"]["filePath"].endswith("steps/streams/private.stream.rb")


async def test_ruby_handler_api(core: CoreProcess) -> None:
    status, doc = await op(core.url, "rb", stream="todo", op="get", groupId="api", id="a")
    assert (status, doc) == (200, {"result": None})
    status, doc = await op(core.url, "rb", stream="todo", op="set", groupId="api", id="a", data={"text": "1"})
    assert (status, doc["result"]) == (200, {"text": "1", "id": "a"})  # decorated with its id
    status, doc = await op(core.url, "rb", stream="todo", op="get", groupId="api", id="a")
    assert (status, doc["result"]) == (200, {"text": "1", "id": "a"})
    _, doc = await op(core.url, "rb", stream="todo", op="delete", groupId="api", id="a")
    assert doc["result"] == {"text": "1", "id": "a"}
    _, doc = await op(core.url, "rb", stream="todo", op="delete", groupId="api", id="a")
    assert doc["result"] is None
    _, doc = await op(core.url, "rb", stream="todo", op="getGroup", groupId="api")
    assert doc["result"] == []


async def test_set_update_delete_and_send_reach_a_client_in_order(core: CoreProcess) -> None:
    group_client, item_client = await WsClient.connect(core.url), await WsClient.connect(core.url)
    try:
        assert (await group_client.join_synced("todo", "life"))["event"] == {"type": "sync", "data": []}
        assert (await item_client.join_synced("todo", "life", "t1"))["event"] == {"type": "sync", "data": None}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{core.url}/rb/todos/life/t1", json={"text": "water plants"}) as resp:
                assert resp.status == 200, await resp.text()
                body = await resp.json()
        assert body == {
            "created": {"text": "water plants", "done": False, "id": "t1"},
            "updated": {"text": "water plants", "done": True, "id": "t1"},
            "removed": {"text": "water plants", "done": True, "id": "t1"},
            "after": None,
        }
        await group_client.wait_for(lambda m: m["event"]["type"] == "event")
        assert _non_sync(group_client) == [
            {"type": "create", "data": {"text": "water plants", "done": False, "id": "t1"}},
            {"type": "update", "data": {"text": "water plants", "done": True, "id": "t1"}},
            {"type": "delete", "data": {"text": "water plants", "done": True, "id": "t1"}},
            {"type": "event", "event": {"type": "life-over", "data": {"id": "t1", "by": "ruby"}}},
        ]
        assert all(m["id"] == "t1" for m in group_client.events()[:3])
        assert "id" not in group_client.events()[3]  # a group event
        stamps = [m["timestamp"] for m in group_client.messages]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        # the item's subscriber sees the item's changes, not the group's event
        await item_client.wait_for(lambda m: m["event"]["type"] == "delete")
        assert [e["type"] for e in _non_sync(item_client)] == ["create", "update", "delete"]
    finally:
        await group_client.close()
        await item_client.close()


async def test_send_to_an_item_and_to_a_group_from_ruby(core: CoreProcess) -> None:
    group_client, item_client = await WsClient.connect(core.url), await WsClient.connect(core.url)
    try:
        await group_client.join_synced("todo", "ping")
        await item_client.join_synced("todo", "ping", "i1")
        event = {"type": "i-ping", "data": {"x": [1, 2]}}
        status, doc = await op(core.url, "rb", stream="todo", op="send", groupId="ping", id="i1", event=event)
        assert (status, doc) == (200, {"result": None})
        await op(core.url, "rb", stream="todo", op="send", groupId="ping", event={"type": "g-ping"})
        await group_client.wait_for(lambda m: m["event"].get("event", {}).get("type") == "g-ping")
        hit = await item_client.wait_for(lambda m: m["event"]["type"] == "event")
        assert hit[0]["id"] == "i1" and hit[0]["event"] == {"type": "event", "event": event}
        assert _non_sync(group_client) == [
            {"type": "event", "event": event},
            {"type": "event", "event": {"type": "g-ping", "data": None}},
        ]
        assert len(item_client.events()) == 1  # the group event is not for the item's subscriber
    finally:
        await group_client.close()
        await item_client.close()


async def test_get_group_is_oldest_first_updates_keep_their_place(core: CoreProcess) -> None:
    for item_id in ("a", "b", "c"):
        await op(core.url, "rb", stream="todo", op="set", groupId="order", id=item_id, data={"text": item_id})
    await op(core.url, "rb", stream="todo", op="set", groupId="order", id="a", data={"text": "a2", "id": "ignored"})
    await op(core.url, "rb", stream="todo", op="delete", groupId="order", id="b")
    await op(core.url, "rb", stream="todo", op="set", groupId="order", id="b", data={"text": "b2"})
    expected = [{"text": "a2", "id": "a"}, {"text": "c", "id": "c"}, {"text": "b2", "id": "b"}]
    for name in ("getGroup", "get_group"):
        status, doc = await op(core.url, "rb", stream="todo", op=name, groupId="order")
        assert (status, doc["result"]) == (200, expected)
    _, doc = await op(core.url, "py", stream="todo", op="getGroup", groupId="order")
    assert doc["result"] == expected  # what Ruby wrote, Python reads unchanged


async def test_a_burst_of_sets_arrives_in_call_order(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url)
    try:
        await client.join_synced("todo", "burst", "x")
        status, doc = await op(core.url, "rb", stream="todo", op="burst", groupId="burst", id="x", count=100)
        assert (status, doc["result"]) == (200, {"n": 100, "by": "ruby", "id": "x"})
        events = await client.wait_for(lambda m: m["event"]["type"] in ("create", "update"), count=100)
        assert [m["event"]["data"]["n"] for m in events] == list(range(1, 101))
    finally:
        await client.close()


async def test_undeclared_stream_is_a_clear_error(core: CoreProcess) -> None:
    status, doc = await op(core.url, "rb", stream="nope", op="get", groupId="g", id="1")
    assert status == 400
    assert doc["name"] == "Motia::CallError"
    assert doc["error"].startswith("streams.get: stream 'nope' is not declared in this project")
    assert "declared streams: private, todo" in doc["error"]
    # not rescued: the handler fails (500) and the core logs the message
    async with aiohttp.ClientSession() as session:
        body = {"stream": "nope", "op": "set", "groupId": "g", "id": "1", "data": {}, "uncaught": True}
        async with session.post(f"{core.url}/rb/streams", json=body) as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "Internal server error"}
            trace_id = resp.headers["x-motia-trace-id"]
    line = core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("level") == "error")
    assert "stream 'nope' is not declared in this project (declared streams: private, todo)" in line["msg"]
    assert "Motia::CallError" in line["msg"]
    assert "rb_stream_op_step.rb" in line["stack"]


async def test_items_must_be_hashes(core: CoreProcess) -> None:
    status, doc = await op(core.url, "rb", stream="todo", op="set", groupId="g", id="1", data=[1, 2])
    assert (status, doc["name"]) == (400, "TypeError")
    assert doc["error"] == "streams.todo.set takes a Hash (a JSON object) as data, got Array"
    status, doc = await op(core.url, "rb", stream="todo", op="send", groupId="g", event={"data": 1})
    assert (status, doc["name"]) == (400, "ArgumentError")
    assert 'the event needs a non-empty String "type"' in doc["error"]
    status, doc = await op(core.url, "rb", stream="todo", op="set", groupId="g", id="", data={"text": "x"})
    assert (status, doc["name"]) == (400, "Motia::CallError")  # the core refuses an empty id


async def test_ruby_python_and_typescript_write_one_stream_one_client_sees_all(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url)
    try:
        await client.join_synced("todo", "poly")
        status, _ = await op(core.url, "rb", stream="todo", op="set", groupId="poly", id="r", data={"text": "ruby"})
        assert status == 200
        status, _ = await op(core.url, "py", stream="todo", op="set", groupId="poly", id="p", data={"text": "python"})
        assert status == 200
        status, _ = await op(core.url, "ts", stream="todo", op="set", groupId="poly", id="t", data={"text": "ts"})
        assert status == 200
        # each language updates an item another one wrote
        _, doc = await op(core.url, "py", stream="todo", op="get", groupId="poly", id="r")
        await op(core.url, "py", stream="todo", op="set", groupId="poly", id="r", data={**doc["result"], "done": True})
        _, doc = await op(core.url, "rb", stream="todo", op="get", groupId="poly", id="t")
        assert doc["result"] == {"text": "ts", "id": "t"}
        await op(core.url, "rb", stream="todo", op="set", groupId="poly", id="t", data={**doc["result"], "done": True})
        await op(core.url, "ts", stream="todo", op="delete", groupId="poly", id="p")
        await op(core.url, "ts", stream="todo", op="send", groupId="poly", event={"type": "from-ts", "data": 1})
        await op(core.url, "rb", stream="todo", op="send", groupId="poly", event={"type": "from-rb", "data": 2})
        await client.wait_for(lambda m: m["event"].get("event", {}).get("type") == "from-rb")
        assert _non_sync(client) == [
            {"type": "create", "data": {"text": "ruby", "id": "r"}},
            {"type": "create", "data": {"text": "python", "id": "p"}},
            {"type": "create", "data": {"text": "ts", "id": "t"}},
            {"type": "update", "data": {"text": "ruby", "id": "r", "done": True}},
            {"type": "update", "data": {"text": "ts", "id": "t", "done": True}},
            {"type": "delete", "data": {"text": "python", "id": "p"}},
            {"type": "event", "event": {"type": "from-ts", "data": 1}},
            {"type": "event", "event": {"type": "from-rb", "data": 2}},
        ]
        _, doc = await op(core.url, "rb", stream="todo", op="getGroup", groupId="poly")
        assert doc["result"] == [{"text": "ruby", "id": "r", "done": True}, {"text": "ts", "id": "t", "done": True}]
    finally:
        await client.close()


# -- access control in Ruby -----------------------------------------------------------------------


async def _join(client: WsClient, stream: str, group_id: str, item_id: str | None = None) -> dict[str, Any]:
    msg = await client.join_synced(stream, group_id, item_id)
    return msg["event"]  # type: ignore[no-any-return]


async def test_ruby_can_access_allows_and_denies(core: CoreProcess) -> None:
    await op(core.url, "rb", stream="private", op="set", groupId="alice", id="1", data={"text": "secret"})
    alice = await WsClient.connect(core.url, "/?authToken=alice.user")
    anonymous = await WsClient.connect(core.url)
    try:
        sync = await _join(alice, "private", "alice")
        assert sync == {"type": "sync", "data": [{"text": "secret", "id": "1"}]}
        assert (await _join(alice, "private", "alice", "1"))["type"] == "sync"
        assert await _join(alice, "private", "bob") == DENIED
        assert await _join(alice, "private", "bob", "1") == DENIED
        assert (await _join(alice, "todo", "open"))["type"] == "sync"  # no canAccess: public
        assert await _join(anonymous, "private", "alice") == DENIED  # authContext nil
        assert (await _join(anonymous, "private", "zero"))["type"] == "sync"  # 0 is truthy in Ruby
        # a write after the denial reaches the owner, never the denied client
        await op(core.url, "rb", stream="private", op="set", groupId="alice", id="2", data={"text": "more"})
        await alice.wait_for(lambda m: m["event"]["type"] == "create")
        assert [m["event"] for m in anonymous.messages if m["groupId"] == "alice"] == [DENIED]
    finally:
        await alice.close()
        await anonymous.close()


async def test_a_raising_can_access_denies_and_logs_a_warning(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url, "/?authToken=boom.user")
    try:
        assert await _join(client, "private", "boom") == DENIED
    finally:
        await client.close()
    line = core.wait_for_log(lambda d: "private.canAccess failed, access denied" in d.get("msg", ""))
    assert line["level"] == "warn"
    assert "ArgumentError: canAccess exploded for boom" in line["msg"]


async def test_ruby_stream_auth_file_reads_the_subprotocol_token(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url, protocols=("Authorization", "carol.admin"))
    try:
        assert client.ws.protocol == "Authorization"
        assert (await _join(client, "private", "carol"))["type"] == "sync"
        assert await _join(client, "private", "alice") == DENIED
    finally:
        await client.close()


async def test_ruby_stream_auth_file_rejects_a_bad_token(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(core.url.replace("http", "ws") + "/?authToken=bad")
    assert caught.value.status == 401
    line = core.wait_for_log(lambda d: "stream connection rejected" in d.get("msg", ""))
    assert "steps/stream_auth.rb" in line["msg"] and "ArgumentError: invalid token" in line["msg"]
