from __future__ import annotations

from motia_core.state.base import StateStore
from motia_core.state.sqlite import SqliteStateStore

__all__ = ["SqliteStateStore", "StateStore"]
