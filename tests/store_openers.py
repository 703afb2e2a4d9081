"""Opening a store on each backing storage, for the contract suites (state, stream items).

`store_opener` yields a function that opens a new store over the same data on every call (a
restart), and closes every store and client it opened afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

S = TypeVar("S")


async def store_opener(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite: Callable[[Path], S],
    redis: Callable[[Any, str, str], S],
) -> AsyncIterator[Callable[[], S]]:
    """`request.param` names the storage: "sqlite" (a file under tmp_path) or "redis" (the
    redis_server fixture, through the client the core uses)."""
    opened: list[Any] = []
    clients: list[Any] = []
    if request.param == "sqlite":

        def make() -> S:
            opened.append(store := sqlite(tmp_path / "state.db"))
            return store

    else:
        from motia_core.redis_conn import connect

        server = request.getfixturevalue("redis_server")

        def make() -> S:
            clients.append(client := connect(server.url))
            opened.append(store := redis(client, "contract", server.url))
            return store

    yield make
    for store in opened:
        await store.close()
    for client in clients:
        await client.aclose()
