"""The stream item store contract: every StreamStore implementation (SQLite, Redis) passes the same
tests, one behaviour each. A behaviour one backend lacks is a failing test here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from motia_core.streams.store import StreamStore
from tests.store_openers import store_opener

pytestmark = pytest.mark.timeout(60)

Opener = Callable[[], StreamStore]


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a store on one backing storage; every call is a new store over the same data (a restart)."""
    from motia_core.streams.store import SqliteStreamStore
    from motia_core.streams.store_redis import RedisStreamStore

    async for make in store_opener(
        request, tmp_path, SqliteStreamStore, lambda client, prefix, url: RedisStreamStore(client, prefix, url=url)
    ):
        yield make


@pytest.fixture
def store(open_store: Opener) -> StreamStore:
    return open_store()


def _item(item_id: str, **extra: object) -> bytes:
    body = "".join(f',"{k}":{v}' for k, v in extra.items())
    return f'{{"id":"{item_id}"{body}}}'.encode()


async def test_get_of_a_missing_item_is_none(store: StreamStore) -> None:
    assert await store.get("s", "g", "nope") is None


async def test_set_creates_then_replaces(store: StreamStore) -> None:
    assert await store.set("s", "g", "1", _item("1", n=1)) is True
    assert await store.set("s", "g", "1", _item("1", n=2)) is False
    assert await store.get("s", "g", "1") == _item("1", n=2)


async def test_delete_returns_the_item_and_removes_it(store: StreamStore) -> None:
    await store.set("s", "g", "1", _item("1"))
    assert await store.delete("s", "g", "1") == _item("1")
    assert await store.get("s", "g", "1") is None
    assert await store.delete("s", "g", "1") is None


async def test_set_after_delete_creates_again(store: StreamStore) -> None:
    await store.set("s", "g", "1", _item("1"))
    await store.delete("s", "g", "1")
    assert await store.set("s", "g", "1", _item("1")) is True


async def test_get_group_is_in_creation_order(store: StreamStore) -> None:
    for item_id in ("m", "z", "a"):
        await store.set("s", "g", item_id, _item(item_id))
    assert await store.get_group("s", "g") == [_item("m"), _item("z"), _item("a")]


async def test_update_keeps_the_items_place(store: StreamStore) -> None:
    for item_id in ("a", "b", "c"):
        await store.set("s", "g", item_id, _item(item_id))
    await store.set("s", "g", "a", _item("a", v=2))
    assert await store.get_group("s", "g") == [_item("a", v=2), _item("b"), _item("c")]


async def test_delete_then_readd_goes_last(store: StreamStore) -> None:
    for item_id in ("a", "b", "c"):
        await store.set("s", "g", item_id, _item(item_id))
    await store.delete("s", "g", "a")
    await store.set("s", "g", "a", _item("a"))
    assert await store.get_group("s", "g") == [_item("b"), _item("c"), _item("a")]


async def test_get_group_of_an_unknown_group_is_empty(store: StreamStore) -> None:
    assert await store.get_group("s", "none") == []


async def test_streams_and_groups_are_separate(store: StreamStore) -> None:
    await store.set("a:b", "c", "1", _item("1", w=1))
    await store.set("a", "b:c", "1", _item("1", w=2))
    await store.set("a", "b", "1", _item("1", w=3))
    assert await store.get("a:b", "c", "1") == _item("1", w=1)
    assert await store.get("a", "b:c", "1") == _item("1", w=2)
    assert await store.get_group("a", "b") == [_item("1", w=3)]
    assert await store.groups("a") == ["b", "b:c"]
    assert await store.groups("a:b") == ["c"]


async def test_groups_lists_groups_holding_items_sorted(store: StreamStore) -> None:
    await store.set("s", "beta", "1", _item("1"))
    await store.set("s", "alpha", "1", _item("1"))
    await store.set("s", "x}y{", "1", _item("1"))
    assert await store.groups("s") == ["alpha", "beta", "x}y{"]
    await store.delete("s", "beta", "1")
    assert await store.groups("s") == ["alpha", "x}y{"]
    assert await store.groups("other") == []


async def test_items_are_bytes_passed_through_unchanged(store: StreamStore) -> None:
    odd = [b'{"id":"1","a":1 }', '{ "id" : "2", "t": "é 漢" }'.encode(), b'{"id":"3","u":"\\u00e9","f":2.50}']
    for n, item in enumerate(odd, 1):
        await store.set("s", "g", str(n), item)
    assert [await store.get("s", "g", str(n)) for n in (1, 2, 3)] == odd
    assert await store.get_group("s", "g") == odd


async def test_large_items(store: StreamStore) -> None:
    big = b'{"id":"big","blob":"' + b"x" * (8 * 1024 * 1024) + b'"}'
    assert await store.set("s", "g", "big", big) is True
    assert await store.get("s", "g", "big") == big
    assert await store.get_group("s", "g") == [big]


async def test_concurrent_creates_of_one_item_report_one_creation(store: StreamStore) -> None:
    created = await asyncio.gather(*(store.set("s", "g", "same", _item("same", n=n)) for n in range(100)))
    assert created.count(True) == 1
    assert len(await store.get_group("s", "g")) == 1


async def test_concurrent_sets_all_land(store: StreamStore) -> None:
    created = await asyncio.gather(*(store.set("s", "g", str(n), _item(str(n))) for n in range(300)))
    assert all(created)
    assert sorted(await store.get_group("s", "g")) == sorted(_item(str(n)) for n in range(300))


async def test_items_survive_a_new_store(open_store: Opener) -> None:
    first = open_store()
    await first.set("s", "g", "b", _item("b"))
    await first.set("s", "g", "a", _item("a"))
    await first.close()
    second = open_store()
    assert await second.get_group("s", "g") == [_item("b"), _item("a")]
    assert await second.groups("s") == ["g"]
