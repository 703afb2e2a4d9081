"""The Redis queue's reads and repairs outside delivery (core/motia_core/queue/redis.py's RedisQueue
inherits them): dead letters (list, read, replay, purge) and the stats GET /__motia/queue shows."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from motia_core.errors import StorageUnavailable
from motia_core.queue import redis_support as support
from motia_core.queue.base import DeadLetter, QueueStats
from motia_core.queue.redis_support import UNREACHABLE, describe, letter


class RedisQueueAdmin:
    _redis: aioredis.Redis
    _base: str  # `{P}:q:`, the key prefix (queue/redis_scripts.py: the key layout)
    _scripts: dict[str, Any]
    _subs: dict[str, Any]

    async def dead_letters(self, subscription: str | None = None) -> list[DeadLetter]:
        return await support.read_dead_letters(self._redis, self._base, subscription)

    async def dead_letter(self, letter_id: str) -> DeadLetter | None:
        row = await self._redis.hgetall(f"{self._base}x:{letter_id}")
        return letter(letter_id, row) if row else None

    async def replay(self, letter_id: str) -> bool:
        args = [self._base, letter_id, repr(time.time())]
        return bool(await self._scripts["REPLAY"](keys=[f"{self._base}dead"], args=args))

    async def purge(self, letter_id: str | None = None) -> int:
        return int(await self._scripts["PURGE"](keys=[f"{self._base}dead"], args=[self._base, letter_id or ""]))

    async def stats(self) -> QueueStats:
        """Read from Redis, so every instance's events count: depth is the `n:` counter, in flight the
        consumer group's pending entries, scheduled the delay set. One pipeline."""
        try:
            return await support.read_stats(self._redis, self._base, list(self._subs))
        except UNREACHABLE as exc:
            raise StorageUnavailable(f"Redis cannot be reached ({describe(exc)})") from exc
