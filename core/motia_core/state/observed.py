"""A StateStore that tells a listener of every change it made: the one place every state write passes
through, whoever made it (a runner's ctx.state through calls.py, the admin API's PUT and DELETE).
The Workbench's State panel follows state live through it (http/live_state.py).

The listener is called after the store committed the change, on the event loop, synchronously: it
must only take note (the live feed coalesces and sends later), never block or await. A store that
raised (storage down, value refused) made no change and tells nothing. Reads pass straight through.

With a shared backend (Redis) a listener hears this instance's writes only: other instances' writes
reach the store without passing here (docs/observability.md#state)."""

from __future__ import annotations

from collections.abc import Callable

from motia_core.state.base import StateStore

# (group, key, op, value): op is "set" (value = the JSON bytes stored), "delete" (value None; only
# when the key existed) or "clear" (key and value None)
StateListener = Callable[[str, str | None, str, bytes | None], None]


class ObservedState:
    """Implements StateStore around `inner`; `listener` is set by whoever wires the core (app.py)."""

    def __init__(self, inner: StateStore, listener: StateListener | None = None) -> None:
        self.inner = inner
        self.listener = listener

    async def get(self, group_id: str, key: str) -> bytes | None:
        return await self.inner.get(group_id, key)

    async def set(self, group_id: str, key: str, value_json: bytes) -> None:
        await self.inner.set(group_id, key, value_json)
        if self.listener is not None:
            self.listener(group_id, key, "set", value_json)

    async def delete(self, group_id: str, key: str) -> bytes | None:
        old = await self.inner.delete(group_id, key)
        if old is not None and self.listener is not None:  # deleting a missing key changed nothing
            self.listener(group_id, key, "delete", None)
        return old

    async def get_group(self, group_id: str) -> list[bytes]:
        return await self.inner.get_group(group_id)

    async def items(self, group_id: str) -> list[tuple[str, bytes]]:
        return await self.inner.items(group_id)

    async def clear(self, group_id: str) -> None:
        await self.inner.clear(group_id)
        if self.listener is not None:
            self.listener(group_id, None, "clear", None)

    async def groups(self) -> list[str]:
        return await self.inner.groups()

    async def close(self) -> None:
        await self.inner.close()
