from __future__ import annotations

from motia_core.queue.base import Delivery, EventQueue, QueuedEvent
from motia_core.queue.memory import MemoryQueue
from motia_core.queue.sqlite import SqliteQueue

__all__ = ["Delivery", "EventQueue", "MemoryQueue", "QueuedEvent", "SqliteQueue"]
