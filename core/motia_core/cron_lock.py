"""Cron once per tick across instances: a lock per (step, tick) with a fencing token.

Every instance runs the same schedule and computes the same tick times (croniter's instants, not
"now"), so a tick is named by its scheduled time in milliseconds. The instance that acquires the
tick's key runs it; the others skip it. The key expires ``ttl_ms`` after it is taken: it exists only
to decide one tick, so an instance that dies holding it blocks nothing (the next tick is another
key) and Redis keeps a few keys per cron step at most.

The fencing token is a per-step counter incremented with each acquisition, in the same Lua step as
the SET NX: two runs of one tick (possible only if a key expired before a very late instance got to
its tick, i.e. a clock or event-loop stall longer than ``ttl_ms``) carry different tokens, and every
run's token is in its log line, so a duplicate is visible.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # cron.py imports this module on every core: only RedisCronLock's user needs redis
    import redis.asyncio as redis

DEFAULT_TTL_MS = 60_000  # far beyond clock skew between instances and a late event loop

# SET NX and the token in one atomic step: the token only grows for acquisitions that won
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
"""


class CronLock(Protocol):
    async def acquire(self, step_id: str, tick: int) -> int | None:
        """Claim one tick (its scheduled time in ms) of one step: a fencing token when this instance
        runs it, None when another instance has it. Raises when the lock cannot be reached."""
        ...


class RedisCronLock:
    def __init__(self, client: redis.Redis, prefix: str, ttl_ms: int = DEFAULT_TTL_MS) -> None:
        self._prefix = prefix
        self._ttl_ms = ttl_ms
        self._acquire = client.register_script(_ACQUIRE)

    def keys(self, step_id: str, tick: int) -> list[str]:
        # a step id may hold any character ('{', ':'...): the hash tag is a digest of it, so the
        # tick key and the counter share one Redis Cluster slot (one Lua script may touch both)
        tag = hashlib.blake2b(step_id.encode(), digest_size=8).hexdigest()
        base = f"{self._prefix}:cron:{{{tag}}}"
        return [f"{base}:tick:{tick}", f"{base}:fence"]

    async def acquire(self, step_id: str, tick: int) -> int | None:
        token = await self._acquire(keys=self.keys(step_id, tick), args=[self._ttl_ms])
        return None if token is None else int(token)
