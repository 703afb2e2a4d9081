"""Streams from Go, end to end: a real core on tests/fixtures/go_streams, where the `todo` and `private`
streams are declared in Go (steps/streams/*_stream.go), a Go handler writes them, a Go CanAccess and a
Go stream auth hook (steps/stream_auth.go) guard the joins, and plain aiohttp WebSocket clients watch."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture
from tests.stream_client.harness import WsClient

pytestmark = [
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
    pytest.mark.timeout(300),  # a cold Go build cache compiles grpc-go first
]

DENIED = {
    "type": "event",
    "event": {"type": "error", "data": {"code": "STREAM_ACCESS_DENIED", "message": "Access denied"}},
}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("go_streams", tmp_path_factory.mktemp("go-streams"))
    proc = CoreProcess(project)
    proc.wait_ready(timeout=240)
    yield proc
    proc.stop()


async def _join(client: WsClient, stream: str, group_id: str, item_id: str | None = None) -> Any:
    return (await client.join_synced(stream, group_id, item_id))["event"]


async def test_streams_are_listed_with_their_go_files(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{core.url}/__motia/streams/list") as resp:
            doc = await resp.json()
    streams = {s["name"]: s for s in doc["streams"]}
    assert set(streams) == {"todo", "private"}
    assert streams["todo"]["filePath"].endswith("steps/streams/todo_stream.go")
    assert streams["todo"]["schema"]["required"] == ["text"]


async def test_set_update_send_delete_from_go_reach_a_client_in_order(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url)
    try:
        assert await _join(client, "todo", "life") == {"type": "sync", "data": []}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{core.url}/go/todos/life/t1", json={"text": "water plants"}) as resp:
                assert resp.status == 200, await resp.text()
                body = await resp.json()
        assert body == {
            "created": {"text": "water plants", "done": False, "id": "t1"},
            "updated": {"text": "water plants", "done": True, "id": "t1"},
            "removed": {"text": "water plants", "done": True, "id": "t1"},
            "after": None,
        }
        await client.wait_for(lambda m: m["event"]["type"] == "delete")
        assert [m["event"] for m in client.events()] == [
            {"type": "create", "data": {"text": "water plants", "done": False, "id": "t1"}},
            {"type": "update", "data": {"text": "water plants", "done": True, "id": "t1"}},
            {"type": "event", "event": {"type": "life-over", "data": {"id": "t1", "by": "go"}}},
            {"type": "delete", "data": {"text": "water plants", "done": True, "id": "t1"}},
        ]
    finally:
        await client.close()


async def test_go_can_access_and_stream_auth_allow_and_deny(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/go/private/alice/1", json={"text": "secret"}) as resp:
            assert await resp.json() == {"text": "secret", "id": "1"}
    alice = await WsClient.connect(core.url, "/?authToken=alice.user")
    anonymous = await WsClient.connect(core.url)
    try:
        assert await _join(alice, "private", "alice") == {"type": "sync", "data": [{"text": "secret", "id": "1"}]}
        assert await _join(alice, "private", "bob") == DENIED
        assert (await _join(alice, "todo", "open"))["type"] == "sync"  # no CanAccess: public
        assert await _join(anonymous, "private", "alice") == DENIED  # no auth context
        assert await _join(alice, "private", "boom") == DENIED  # CanAccess returned an error
    finally:
        await alice.close()
        await anonymous.close()
    line = core.wait_for_log(lambda d: "private.canAccess failed, access denied" in d.get("msg", ""))
    assert "canAccess exploded for boom" in line["msg"]


async def test_go_stream_auth_rejects_a_bad_token(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(core.url.replace("http", "ws") + "/?authToken=bad")
    assert caught.value.status == 401
    line = core.wait_for_log(lambda d: "stream connection rejected" in d.get("msg", ""))
    assert "steps/stream_auth.go" in line["msg"] and "invalid token" in line["msg"]
