"""The state interface. Values are JSON bytes exactly as a runner sent them: the core never
re-encodes a value, and every language reads what another wrote."""

from __future__ import annotations

from typing import Protocol


class StateStore(Protocol):
    async def get(self, group_id: str, key: str) -> bytes | None: ...

    async def set(self, group_id: str, key: str, value_json: bytes) -> None: ...

    async def delete(self, group_id: str, key: str) -> bytes | None:
        """Remove the key; return the old value."""
        ...

    async def get_group(self, group_id: str) -> list[bytes]:
        """Values of the group, in the order their keys were first set."""
        ...

    async def items(self, group_id: str) -> list[tuple[str, bytes]]: ...

    async def clear(self, group_id: str) -> None: ...

    async def groups(self) -> list[str]: ...

    async def close(self) -> None: ...
