"""Stream access control: the project's stream auth file (steps/stream-auth.ts) and per-stream
canAccess in TypeScript (`private`) and Python (`audit`), with plain and Motia clients."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture
from tests.stream_client.harness import NodeClient, WsClient

DENIED = {
    "type": "event",
    "event": {"type": "error", "data": {"code": "STREAM_ACCESS_DENIED", "message": "Access denied"}},
}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("streams", tmp_path_factory.mktemp("streams-access"))
    proc = CoreProcess(project)
    proc.wait_ready()
    yield proc
    proc.stop()


async def _join(client: WsClient, stream: str, group_id: str, item_id: str | None = None) -> dict[str, object]:
    msg = await client.join_synced(stream, group_id, item_id)
    return msg["event"]  # type: ignore[no-any-return]


async def test_token_in_query_string_allows_and_denies_by_user(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url, "/?authToken=alice.user")
    try:
        assert (await _join(client, "private", "alice"))["type"] == "sync"  # TS canAccess: own group
        assert await _join(client, "private", "bob") == DENIED
        assert await _join(client, "private", "bob", "item") == DENIED
        assert await _join(client, "audit", "log") == DENIED  # Python canAccess: admins only
        assert (await _join(client, "todo", "open"))["type"] == "sync"  # no canAccess: public
    finally:
        await client.close()


async def test_token_in_subprotocol_header(core: CoreProcess) -> None:
    client = await WsClient.connect(core.url, protocols=("Authorization", "root.admin"))
    try:
        assert client.ws.protocol == "Authorization"  # the `ws` client insists on an answered subprotocol
        assert (await _join(client, "audit", "log"))["type"] == "sync"
        assert await _join(client, "private", "alice") == DENIED
    finally:
        await client.close()


async def test_denied_join_gets_no_data(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{core.url}/ts/streams",
            json={"stream": "private", "op": "set", "groupId": "carol", "id": "1", "data": {"text": "secret"}},
        ) as resp:
            assert resp.status == 200
    anonymous = await WsClient.connect(core.url)
    try:
        assert await _join(anonymous, "private", "carol") == DENIED
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{core.url}/ts/streams",
                json={"stream": "private", "op": "set", "groupId": "carol", "id": "2", "data": {"text": "more"}},
            ) as resp:
                assert resp.status == 200
        owner = await WsClient.connect(core.url, "/?authToken=carol")
        try:
            sync = await _join(owner, "private", "carol")
            assert sync == {"type": "sync", "data": [{"text": "secret", "id": "1"}, {"text": "more", "id": "2"}]}
        finally:
            await owner.close()
        assert [m["event"] for m in anonymous.messages] == [DENIED]  # nothing else, ever
    finally:
        await anonymous.close()


async def test_rejected_token_fails_the_handshake(core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(core.url.replace("http", "ws") + "/?authToken=bad")
    assert caught.value.status == 401
    core.wait_for_log(lambda d: "stream connection rejected" in d.get("msg", "") and "invalid token" in d["msg"])


async def test_real_client_with_token_allowed_and_denied(core: CoreProcess) -> None:
    client = await NodeClient.start(
        core.url,
        [
            {"name": "mine", "kind": "group", "stream": "private", "groupId": "dave"},
            {"name": "theirs", "kind": "group", "stream": "private", "groupId": "erin", "events": ["error"]},
        ],
        protocols=["Authorization", "dave.user"],
    )
    try:
        assert await client.state_of("mine", lambda s: s == []) == []
        error = await client.wait_for(lambda d: d["t"] == "event")
        assert error == {"t": "event", "sub": "theirs", "type": "error", "data": DENIED["event"]["data"]}  # type: ignore[index]
        assert not client.of("change", "theirs")
    finally:
        await client.close()
