"""Stream items on Redis: the distributed twin of SqliteStreamStore, same semantics
(tests/test_contract_streams_store.py).

Key layout (docs/adapters.md#key-layout), P = the prefix, S = the stream name, L = len(S) in
characters (so stream "a:b" group "c" and stream "a" group "b:c" never share a key), G = group id:

    {P:stream:L:S:G}:v      hash    item id -> item JSON bytes, exactly as the hub encoded them
    {P:stream:L:S:G}:o      zset    item id -> creation sequence number (get_group order)
    {P:stream:L:S:G}:n      string  the group's sequence counter
    {P:stream:L:S}:groups   set     the stream's group ids that hold at least one item

One group's keys share a hash tag (one Cluster slot) and change in one Lua script: `set` creates
or replaces an item and says which it did atomically, so two instances creating the same item at
once get exactly one True.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from motia_core.logs import Logger
from motia_core.redis_conn import Faults
from motia_core.state.redis import OrderedGroups

if TYPE_CHECKING:
    import redis.asyncio


class RedisStreamStore:
    def __init__(self, client: redis.asyncio.Redis, prefix: str, logger: Logger | None = None, url: str = "") -> None:
        self.prefix = prefix
        self._groups = OrderedGroups(client, Faults(url or "(client)", "stream item", logger))

    def _stream(self, stream: str) -> str:
        return f"{self.prefix}:stream:{len(stream)}:{stream}"

    def _tag(self, stream: str, group_id: str) -> str:
        return f"{self._stream(stream)}:{group_id}"

    def _index(self, stream: str) -> str:
        return f"{{{self._stream(stream)}}}:groups"

    async def get(self, stream: str, group_id: str, item_id: str) -> bytes | None:
        return await self._groups.get(self._tag(stream, group_id), item_id)

    async def set(self, stream: str, group_id: str, item_id: str, item_json: bytes) -> bool:
        return await self._groups.set(self._index(stream), group_id, self._tag(stream, group_id), item_id, item_json)

    async def delete(self, stream: str, group_id: str, item_id: str) -> bytes | None:
        return await self._groups.delete(self._index(stream), group_id, self._tag(stream, group_id), item_id)

    async def get_group(self, stream: str, group_id: str) -> list[bytes]:
        return [v for _, v in await self._groups.items(self._tag(stream, group_id))]

    async def groups(self, stream: str) -> list[str]:
        return await self._groups.members(self._index(stream), lambda g: self._tag(stream, g))

    async def close(self) -> None:
        """The client is shared by every Redis piece of the core: Backends.close() closes it."""
