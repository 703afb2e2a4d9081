from __future__ import annotations

from motia_core.queue.base import Delivery, EventQueue, QueuedEvent
from motia_core.queue.memory import MemoryQueue

__all__ = ["Delivery", "EventQueue", "MemoryQueue", "QueuedEvent"]
