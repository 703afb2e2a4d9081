"""State changes on WS /__motia/live: the State panel follows state without a reload
(docs/observability.md#state).

Server -> client, at most one message per WINDOW seconds, after the changes are committed:
    {"type":"state","changes":[C, ...]}    in the order of each key's last change, C one of
        {"group":G,"key":K,"op":"set","value":V}   V only when its JSON is at most INLINE_VALUE bytes
                                                   and the message's values stay within INLINE_TOTAL
                                                   (else refetch the group)
        {"group":G,"key":K,"op":"delete"}
        {"group":G,"op":"clear"}
        {"group":G,"op":"changed"}                 more changes than one window holds: refetch the group
    {"type":"state","resync":true}          changes in too many groups: refetch everything

`StateNotices.changed` is the ObservedState listener (state/observed.py): called where the write
happened, so it only notes the change, and only while a live socket is open. Changes are coalesced
for WINDOW seconds: a handler setting one key in a loop costs one entry per window, with the last
value, and a burst one message, one slot of each client's bounded buffer (http/admin_live.py).
Applied in order, the changes leave a client with what the store holds. The panel picks the groups
it shows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from motia_core.http.admin_live import LiveFeed

WINDOW = 0.1  # seconds changes are coalesced before they are sent
PENDING_KEYS = 500  # keys held per window; a group with more changes becomes one "changed" notice
PENDING_GROUPS = 200  # groups held as "changed"; past it one "resync" says refetch everything
INLINE_VALUE = 2048  # bytes: a set's value rides along when it is this small
INLINE_TOTAL = 64 * 1024  # bytes of values one message carries at most


class StateNotices:
    def __init__(self, feed: LiveFeed) -> None:
        self._feed = feed
        # (group, key or None for a clear) -> (op, value), in the order of each one's last change
        self._pending: dict[tuple[str, str | None], tuple[str, bytes | None]] = {}
        self._changed: dict[str, None] = {}  # groups past PENDING_KEYS: refetch them
        self._resync = False
        self._timer: asyncio.TimerHandle | None = None

    def changed(self, group: str, key: str | None, op: str, value: bytes | None) -> None:
        if not self._feed.clients:
            return
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(WINDOW, self._flush)
        if self._resync or group in self._changed:
            return
        if key is None:  # a clear: the group's earlier changes in this window are void
            for pending in [p for p in self._pending if p[0] == group]:
                del self._pending[pending]
        slot = (group, key)
        if slot in self._pending:
            del self._pending[slot]  # re-inserted last: the order is that of the last changes
        elif len(self._pending) >= PENDING_KEYS:
            self._too_many(group)
            return
        self._pending[slot] = (op, value)

    def _too_many(self, group: str) -> None:
        for pending in [p for p in self._pending if p[0] == group]:
            del self._pending[pending]
        if len(self._changed) >= PENDING_GROUPS:
            self._resync = True
            self._pending.clear()
            self._changed.clear()
        else:
            self._changed[group] = None

    def _flush(self) -> None:
        self._timer = None
        pending, changed, resync = self._pending, self._changed, self._resync
        self._pending, self._changed, self._resync = {}, {}, False
        if resync:
            self._send({"type": "state", "resync": True})
            return
        changes: list[dict[str, Any]] = []
        budget = INLINE_TOTAL
        for (group, key), (op, value) in pending.items():
            change: dict[str, Any] = {"group": group, "op": op}
            if key is not None:
                change["key"] = key
            if value is not None and len(value) <= min(INLINE_VALUE, budget):
                budget -= len(value)
                change["value"] = orjson.Fragment(value)  # the stored JSON bytes, not decoded and re-encoded
            changes.append(change)
        changes.extend({"group": group, "op": "changed"} for group in changed)
        if changes:
            self._send({"type": "state", "changes": changes})

    def _send(self, message: dict[str, Any]) -> None:
        clients = self._feed.clients
        if clients:
            data = orjson.dumps(message)
            for client in clients:
                client.send(data)
