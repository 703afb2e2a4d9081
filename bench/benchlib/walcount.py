"""Commits to a SQLite database in WAL mode, counted from outside the process that makes them.

The WAL index (`<db>-shm`) starts with a header whose third 32-bit word, `iChange`, SQLite increments
at every commit that writes to the WAL (a statement that changed nothing writes no frame and is not
counted); it is not reset by checkpoints. Reading it before and after a run gives the run's commits
without touching the core. The header is in the host's byte order (x86: little-endian).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path


def commits(db: Path) -> int | None:
    """The change counter of `db`'s WAL index now, or None when there is none (not in WAL mode, not
    opened yet). Compare two readings taken while the same process holds the database open."""
    try:
        with open(f"{db}-shm", "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if len(head) < 12:
        return None
    return int(struct.unpack("<I" if sys.byteorder == "little" else ">I", head[8:12])[0])


def delta(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return (after - before) % 2**32  # a 32-bit counter
