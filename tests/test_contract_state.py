"""The state contract: every StateStore implementation (SQLite, Redis) passes the same tests, one
behaviour each. A behaviour one backend lacks is a failing test here, not a footnote in the docs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from motia_core.state.base import StateStore
from tests.store_openers import store_opener

pytestmark = pytest.mark.timeout(60)

Opener = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a store on one backing storage; every call is a new store over the same data (a restart)."""
    from motia_core.state.redis import RedisStateStore
    from motia_core.state.sqlite import SqliteStateStore

    async for make in store_opener(
        request, tmp_path, SqliteStateStore, lambda client, prefix, url: RedisStateStore(client, prefix, url=url)
    ):
        yield make


@pytest.fixture
def store(open_store: Opener) -> StateStore:
    return open_store()


async def test_get_of_a_missing_key_is_none(store: StateStore) -> None:
    assert await store.get("g", "nope") is None


async def test_set_then_get_returns_the_value(store: StateStore) -> None:
    await store.set("g", "k", b'{"a":1}')
    assert await store.get("g", "k") == b'{"a":1}'


async def test_set_replaces_the_value(store: StateStore) -> None:
    await store.set("g", "k", b"1")
    await store.set("g", "k", b"2")
    assert await store.get("g", "k") == b"2"
    assert await store.get_group("g") == [b"2"]


async def test_delete_returns_the_old_value_and_removes_it(store: StateStore) -> None:
    await store.set("g", "k", b'"old"')
    assert await store.delete("g", "k") == b'"old"'
    assert await store.get("g", "k") is None
    assert await store.delete("g", "k") is None


async def test_delete_of_a_missing_key_is_none(store: StateStore) -> None:
    assert await store.delete("nowhere", "k") is None
    assert await store.groups() == []


async def test_groups_are_separate(store: StateStore) -> None:
    await store.set("a", "k", b"1")
    await store.set("b", "k", b"2")
    assert await store.get("a", "k") == b"1"
    assert await store.get("b", "k") == b"2"
    await store.clear("a")
    assert await store.get("b", "k") == b"2"


async def test_get_group_is_in_first_set_order(store: StateStore) -> None:
    for key in ("m", "z", "a", "q"):
        await store.set("g", key, f'"{key}"'.encode())
    assert await store.get_group("g") == [b'"m"', b'"z"', b'"a"', b'"q"']


async def test_reset_of_an_existing_key_keeps_its_place(store: StateStore) -> None:
    for key in ("a", "b", "c"):
        await store.set("g", key, b"0")
    await store.set("g", "a", b"1")
    assert await store.get_group("g") == [b"1", b"0", b"0"]
    assert [k for k, _ in await store.items("g")] == ["a", "b", "c"]


async def test_delete_then_readd_goes_last(store: StateStore) -> None:
    for key in ("a", "b", "c"):
        await store.set("g", key, f'"{key}"'.encode())
    await store.delete("g", "a")
    await store.set("g", "a", b'"a2"')
    assert await store.items("g") == [("b", b'"b"'), ("c", b'"c"'), ("a", b'"a2"')]


async def test_items_pairs_keys_with_values_in_order(store: StateStore) -> None:
    await store.set("g", "x", b"1")
    await store.set("g", "y", b"2")
    assert await store.items("g") == [("x", b"1"), ("y", b"2")]


async def test_get_group_of_an_unknown_group_is_empty(store: StateStore) -> None:
    assert await store.get_group("none") == []
    assert await store.items("none") == []


async def test_clear_empties_the_group(store: StateStore) -> None:
    await store.set("g", "a", b"1")
    await store.set("g", "b", b"2")
    await store.clear("g")
    assert await store.get_group("g") == []
    assert await store.get("g", "a") is None
    await store.set("g", "c", b"3")  # a cleared group starts afresh
    assert await store.get_group("g") == [b"3"]


async def test_groups_lists_groups_holding_keys_sorted(store: StateStore) -> None:
    await store.set("beta", "k", b"1")
    await store.set("alpha", "k", b"1")
    await store.set("gamma", "k", b"1")
    assert await store.groups() == ["alpha", "beta", "gamma"]
    await store.clear("beta")
    await store.delete("gamma", "k")
    assert await store.groups() == ["alpha"]


async def test_values_are_bytes_passed_through_unchanged(store: StateStore) -> None:
    values = [b'{"a":1 }', b'{ "b" : [1, 2.50, "x"] }', '"é ü 漢"'.encode(), b'"\\u00e9"', b"null", b"\x00\xff"]
    for i, value in enumerate(values):
        await store.set("g", f"k{i}", value)
    for i, value in enumerate(values):
        assert await store.get("g", f"k{i}") == value
    assert await store.get_group("g") == values


async def test_names_with_separators_and_braces_do_not_collide(store: StateStore) -> None:
    await store.set("a:b", "c", b"1")
    await store.set("a", "b:c", b"2")
    await store.set("x}y{z", "k:}", b"3")
    assert await store.get("a:b", "c") == b"1"
    assert await store.get("a", "b:c") == b"2"
    assert await store.items("x}y{z") == [("k:}", b"3")]
    assert await store.groups() == ["a", "a:b", "x}y{z"]


async def test_large_values(store: StateStore) -> None:
    big = b'{"blob":"' + b"x" * (8 * 1024 * 1024) + b'"}'
    await store.set("g", "big", big)
    assert await store.get("g", "big") == big
    assert await store.get_group("g") == [big]
    assert await store.delete("g", "big") == big


async def test_concurrent_sets_all_land(store: StateStore) -> None:
    await asyncio.gather(*(store.set("g", f"k{n}", b"%d" % n) for n in range(300)))
    got = await store.items("g")
    assert sorted(k for k, _ in got) == sorted(f"k{n}" for n in range(300))
    assert len(got) == 300


async def test_concurrent_sets_of_one_key_leave_one_entry(store: StateStore) -> None:
    await asyncio.gather(*(store.set("g", "k", b"%d" % n) for n in range(100)))
    got = await store.get_group("g")
    assert len(got) == 1 and int(got[0]) in range(100)


async def test_data_survives_a_new_store(open_store: Opener) -> None:
    first = open_store()
    await first.set("g", "b", b"1")
    await first.set("g", "a", b"2")
    await first.close()
    second = open_store()
    assert await second.items("g") == [("b", b"1"), ("a", b"2")]
    assert await second.groups() == ["g"]
