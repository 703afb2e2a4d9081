"""Invocation deadlines of one runner session, with one loop timer per distinct timeout.

Every API call has a handler timeout (--api-timeout or the step's own), so a timer per invocation
meant a `call_later` and a `cancel` on every request: ~2 µs of the core's CPU each under uvloop
(a libuv timer started, stopped and closed), against ~0.2 µs for a dict insert and pop
(docs/performance.md, "Core per request, session 6"). Invocations that share a timeout expire in
the order they started, so each timeout keeps its pending invocations in a dict (insertion order =
deadline order) and one timer, armed for the oldest one still pending. An invocation that ends is
only removed from its dict; when the timer fires it expires what is due and re-arms for the oldest
left. Deadlines are exact (each fires at its own start + timeout), as with a timer per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

_RESOLUTION = 0.001  # seconds: libuv's timers count whole milliseconds


class _Group:
    """The pending invocations of one timeout, oldest first, and the timer of the oldest."""

    __slots__ = ("pending", "timer")

    def __init__(self) -> None:
        self.pending: dict[str, tuple[float, asyncio.Future[Any]]] = {}
        self.timer: asyncio.TimerHandle | None = None


class Deadlines:
    def __init__(self, loop: asyncio.AbstractEventLoop, expire: Callable[[asyncio.Future[Any]], None]) -> None:
        self._loop = loop
        self._expire = expire  # called with the future of each invocation whose deadline passed
        self._groups: dict[float, _Group] = {}

    def add(self, key: str, timeout: float, fut: asyncio.Future[Any]) -> None:
        """Call `expire(fut)` `timeout` seconds from now unless `discard(key, timeout)` comes first."""
        group = self._groups.get(timeout)
        if group is None:
            group = self._groups[timeout] = _Group()
        when = self._loop.time() + timeout
        group.pending[key] = (when, fut)
        if group.timer is None:
            group.timer = self._loop.call_at(when, self._fire, group)

    def discard(self, key: str, timeout: float) -> None:
        """The invocation ended: no expiry for it (its group's timer stays armed; see _fire)."""
        group = self._groups.get(timeout)
        if group is not None:
            group.pending.pop(key, None)

    def pending(self) -> int:
        return sum(len(g.pending) for g in self._groups.values())

    def close(self) -> None:
        """Forget every deadline (the session ended and failed what was in flight)."""
        for group in self._groups.values():
            if group.timer is not None:
                group.timer.cancel()
        self._groups.clear()

    def _fire(self, group: _Group) -> None:
        group.timer = None
        pending = group.pending
        # within the loop's timer resolution counts as due, as asyncio's own loop does for its timers
        # (a libuv timer may fire a fraction of a millisecond before `when` by loop.time())
        now = self._loop.time() + _RESOLUTION
        while pending:
            key = next(iter(pending))
            when, fut = pending[key]
            if when > now:  # the oldest still pending is not due yet: wait for it
                group.timer = self._loop.call_at(when, self._fire, group)
                return
            del pending[key]
            self._expire(fut)
