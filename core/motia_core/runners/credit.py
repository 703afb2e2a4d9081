"""Byte credit: how much invocation input one runner may hold at once.

Slots bound the number of invocations in flight, not their size: 64 concurrent 1 MB bodies put
64 MB in one frame, and a runner on a starved CPU then spends many seconds decoding and running it
before any result (or pong) can come back. Holding the rest in the core until the runner returns
results keeps its frames, its memory and its answer time bounded; the waiting is admission, under
the same --admission-timeout as a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque

# bytes of payload + body in flight to one runner; one larger input still goes, alone
INFLIGHT_BYTES = int(os.environ.get("MOTIA_RUNNER_INFLIGHT_BYTES", str(8 * 1024 * 1024)))


class ByteCredit:
    """FIFO admission by bytes: take(n) waits until n fits (or nothing else is in flight)."""

    def __init__(self, limit: int = INFLIGHT_BYTES) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def _fits(self, n: int) -> bool:
        return self.used == 0 or self.used + n <= self.limit

    def try_take(self, n: int) -> bool:
        """Take n bytes now if they fit and nobody is waiting ahead (the common case)."""
        if not self._waiters and self._fits(n):
            self.used += n
            return True
        return False

    async def take(self, n: int) -> None:
        if self.try_take(n):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (n, fut)
        self._waiters.append(entry)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted as we were cancelled: hand it on
                self.give(n)
            else:
                with contextlib.suppress(ValueError):  # _wake may have dropped it already
                    self._waiters.remove(entry)
                self._wake()  # a large waiter leaving the head may unblock smaller ones behind it
            raise

    def give(self, n: int) -> None:
        self.used -= n
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            n, fut = self._waiters[0]
            if fut.done():
                self._waiters.popleft()
                continue
            if not self._fits(n):
                return
            self._waiters.popleft()
            self.used += n
            fut.set_result(None)
