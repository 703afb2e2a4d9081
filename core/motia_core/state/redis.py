"""State on Redis: the distributed twin of SqliteStateStore, same semantics (tests/test_contract_state.py).

Key layout (docs/adapters.md#key-layout), P = the prefix, G = the group id:

    {P:state:G}:v      hash    key -> value (the JSON bytes a runner sent, never re-encoded)
    {P:state:G}:o      zset    key -> first-set sequence number (get_group order)
    {P:state:G}:n      string  the group's sequence counter
    {P:state}:groups   set     the group ids that hold at least one key

The three keys of a group share one hash tag, so they live in one Redis Cluster slot and one Lua
script changes them atomically: a value and its place in the order are never seen half-written.
The `groups` index is in another slot; it is kept right without a cross-slot transaction (see
OrderedGroups._unindex_if_empty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from motia_core.logs import Logger
from motia_core.redis_conn import Faults

if TYPE_CHECKING:
    import redis.asyncio

# KEYS: values hash, order zset, counter. ARGV: field, value. Returns 1 when the field was created.
_SET = """
local created = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if created == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return created
"""
# KEYS: as above. ARGV: field. Returns {found (0/1), old value, fields left}.
_DELETE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return {0, '', redis.call('HLEN', KEYS[1])} end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local left = redis.call('HLEN', KEYS[1])
if left == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return {1, old, left}
"""


class OrderedGroups:
    """Groups of (field -> bytes) that remember the order fields were first set. Shared by the state
    store and the stream item store; `tag` is the hash-tag body of one group's keys."""

    def __init__(self, client: redis.asyncio.Redis, faults: Faults) -> None:
        self._r = client
        self._faults = faults
        self._set = client.register_script(_SET)
        self._delete = client.register_script(_DELETE)

    @staticmethod
    def _keys(tag: str) -> list[str]:
        return [f"{{{tag}}}:v", f"{{{tag}}}:o", f"{{{tag}}}:n"]

    async def get(self, tag: str, field: str) -> bytes | None:
        with self._faults.translate():
            value = await self._r.hget(f"{{{tag}}}:v", field)
        return cast("bytes | None", value)  # the client never decodes: bytes in, bytes out

    async def set(self, index: str, member: str, tag: str, field: str, value: bytes) -> bool:
        """One round trip: the script by its SHA, then the index entry (after it: see
        _unindex_if_empty). A script object in a pipeline would cost a SCRIPT EXISTS round trip per
        call; a Redis that lost its script cache (restarted) answers NOSCRIPT once, and the script
        is loaded and run again (the SADD is idempotent)."""
        from redis.exceptions import NoScriptError

        keys = self._keys(tag)
        with self._faults.translate():
            try:
                async with self._r.pipeline(transaction=False) as pipe:
                    pipe.evalsha(self._set.sha, len(keys), *keys, field, value)
                    pipe.sadd(index, member)
                    created, _ = await pipe.execute()
            except NoScriptError:
                created = await self._set(keys=keys, args=[field, value])  # loads the script
                await self._r.sadd(index, member)
        return bool(created)

    async def delete(self, index: str, member: str, tag: str, field: str) -> bytes | None:
        with self._faults.translate():
            found, old, left = await self._delete(keys=self._keys(tag), args=[field])
            if int(left) == 0:
                await self._unindex_if_empty(index, member, tag)
        return bytes(old) if int(found) else None

    async def clear(self, index: str, member: str, tag: str) -> None:
        with self._faults.translate():
            await self._r.delete(*self._keys(tag))
            await self._unindex_if_empty(index, member, tag)

    async def items(self, tag: str) -> list[tuple[bytes, bytes]]:
        """(field, value) in first-set order, read from one consistent snapshot (MULTI/EXEC)."""
        keys = self._keys(tag)
        with self._faults.translate():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.zrange(keys[1], 0, -1)
                pipe.hgetall(keys[0])
                order, values = await pipe.execute()
        return [(f, values[f]) for f in order if f in values]

    async def members(self, index: str, tag_of: Any) -> list[str]:
        """Index members whose group still holds data (a core that died between a group's last
        delete and its unindexing leaves an empty entry behind; it is not reported)."""
        with self._faults.translate():
            raw = await self._r.smembers(index)
            names = sorted(cast(bytes, m).decode() for m in raw)
            if not names:
                return []
            async with self._r.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.exists(f"{{{tag_of(name)}}}:v")
                present = await pipe.execute()
        return [n for n, p in zip(names, present, strict=True) if p]

    async def _unindex_if_empty(self, index: str, member: str, tag: str) -> None:
        """Drop an emptied group from the index without a cross-slot transaction. A set elsewhere
        adds its index entry *after* its script; so either that SADD comes after our SREM, or our
        EXISTS (after our SREM) sees its value and we put the entry back. Either way a group that
        holds data stays indexed."""
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.srem(index, member)
            pipe.exists(f"{{{tag}}}:v")
            _, exists = await pipe.execute()
        if exists:
            await self._r.sadd(index, member)


class RedisStateStore:
    def __init__(self, client: redis.asyncio.Redis, prefix: str, logger: Logger | None = None, url: str = "") -> None:
        self.prefix = prefix
        self._groups = OrderedGroups(client, Faults(url or "(client)", "state", logger))
        self._index = f"{{{prefix}:state}}:groups"

    def _tag(self, group_id: str) -> str:
        return f"{self.prefix}:state:{group_id}"

    async def get(self, group_id: str, key: str) -> bytes | None:
        return await self._groups.get(self._tag(group_id), key)

    async def set(self, group_id: str, key: str, value_json: bytes) -> None:
        await self._groups.set(self._index, group_id, self._tag(group_id), key, value_json)

    async def delete(self, group_id: str, key: str) -> bytes | None:
        return await self._groups.delete(self._index, group_id, self._tag(group_id), key)

    async def get_group(self, group_id: str) -> list[bytes]:
        return [v for _, v in await self._groups.items(self._tag(group_id))]

    async def items(self, group_id: str) -> list[tuple[str, bytes]]:
        return [(k.decode(), v) for k, v in await self._groups.items(self._tag(group_id))]

    async def clear(self, group_id: str) -> None:
        await self._groups.clear(self._index, group_id, self._tag(group_id))

    async def groups(self) -> list[str]:
        return await self._groups.members(self._index, self._tag)

    async def close(self) -> None:
        """The client is shared by every Redis piece of the core: Backends.close() closes it."""
