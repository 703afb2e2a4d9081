"""motia-core: the core process of a polyglot step framework."""

from __future__ import annotations

__version__ = "0.1.0"

PROTOCOL_MIN = 1
PROTOCOL_MAX = 1

__all__ = ["PROTOCOL_MAX", "PROTOCOL_MIN", "__version__"]
