"""The stream hub without sockets: ordering of joins and changes, fan-out, encoding."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from motia_core.streams.hub import NotAnObject, StreamHub, encode_item
from motia_core.streams.store import SqliteStreamStore


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []

    def offer(self, message: bytes) -> bool:
        self.messages.append(orjson.loads(message))
        return True

    def kinds(self) -> list[object]:
        return [m["event"]["type"] for m in self.messages]  # type: ignore[index]


class SlowStore(SqliteStreamStore):
    """Reads that yield to the loop for a while, so changes can race a join."""

    async def get_group(self, stream: str, group_id: str) -> list[bytes]:
        items = await super().get_group(stream, group_id)
        await asyncio.sleep(0.05)
        return items


async def test_a_change_racing_a_join_comes_after_the_sync(tmp_path: Path) -> None:
    hub = StreamHub(SlowStore(tmp_path / "s.db"))
    client = Recorder()
    join = asyncio.create_task(hub.join(client, "todo", "g", ""))
    await asyncio.sleep(0.01)  # the join holds the group while it reads
    await hub.set("todo", "g", "1", b'{"a":1}')
    await join
    assert client.kinds() == ["sync", "create"]
    assert client.messages[0]["event"] == {"type": "sync", "data": []}
    await hub.store.close()


async def test_item_changes_reach_item_and_group_subscribers_once(tmp_path: Path) -> None:
    hub = StreamHub(SqliteStreamStore(tmp_path / "s.db"))
    group, item, both, other = Recorder(), Recorder(), Recorder(), Recorder()
    await hub.join(group, "todo", "g", "")
    await hub.join(item, "todo", "g", "1")
    await hub.join(both, "todo", "g", "")
    await hub.join(both, "todo", "g", "1")
    await hub.join(other, "todo", "h", "")
    assert await hub.set("todo", "g", "1", b'{"id":"x","a":1}') == b'{"id":"1","a":1}'
    await hub.send("todo", "g", "", "ping", b"")
    await hub.delete("todo", "g", "1")
    assert group.kinds() == ["sync", "create", "event", "delete"]
    assert item.kinds() == ["sync", "create", "delete"]
    assert both.kinds() == ["sync", "sync", "create", "event", "delete"]
    assert other.kinds() == ["sync"]
    assert group.messages[2]["event"] == {"type": "event", "event": {"type": "ping", "data": None}}
    hub.leave(item, "todo", "g", "1")
    hub.leave(both, "todo", "g", "1")
    await hub.set("todo", "g", "1", b"{}")
    assert item.kinds()[-1] == "delete" and both.kinds()[-1] == "create"
    stamps = [m["timestamp"] for m in both.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert hub.stats()["itemRooms"] == 0
    await hub.store.close()


def test_items_are_objects_with_the_id_last_unless_present() -> None:
    assert encode_item(b'{"a":1}', "k") == b'{"a":1,"id":"k"}'
    assert encode_item(b'{"id":"x","a":1}', "k") == b'{"id":"k","a":1}'
    for bad in (b"[1]", b"null", b"", b'"s"', b"{bad"):
        with pytest.raises(NotAnObject):
            encode_item(bad, "k")


async def test_store_keeps_creation_order_and_survives_reopening(tmp_path: Path) -> None:
    store = SqliteStreamStore(tmp_path / "s.db")
    assert await store.set("s", "g", "b", b'{"n":1}') is True
    assert await store.set("s", "g", "a", b'{"n":2}') is True
    assert await store.set("s", "g", "b", b'{"n":3}') is False
    assert await store.delete("s", "g", "a") == b'{"n":2}'
    assert await store.set("s", "g", "a", b'{"n":4}') is True
    await store.close()
    again = SqliteStreamStore(tmp_path / "s.db")
    assert await again.get_group("s", "g") == [b'{"n":3}', b'{"n":4}']
    assert await again.groups("s") == ["g"] and await again.get("s", "h", "a") is None
    await again.close()
