"""Resident memory of a group of processes with each physical page counted once.

Summing RSS counts a page that two processes map (a shared library, the interpreter binary, memory
shared after fork) once per process; summing USS counts it not at all. /proc/<pid>/pagemap gives the
physical frame of each resident page, so the union of the frames over the group is exactly what the
group holds in RAM. Linux hides frame numbers from processes without CAP_SYS_ADMIN (they read as 0):
then there is no answer, and unique_mb returns None rather than a wrong one.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterable

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024
_PRESENT = 1 << 63
_PFN_MASK = (1 << 55) - 1
# reads of one mapping's entries, in pages (8 bytes each): V8 and grpc reserve gigabytes they never touch
_CHUNK_PAGES = 1 << 16


def frames(pid: int) -> set[int] | None:
    """The physical frames of `pid`'s resident pages (none once it has exited); None when they are hidden
    or unreadable (OSError: no permission)."""
    found: set[int] = set()
    hidden = False
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb", buffering=0) as pagemap:
            for line in maps:
                start, end = (int(x, 16) for x in line.split(maxsplit=1)[0].split("-"))
                if start >= 1 << 47:  # [vsyscall]: kernel address space, no pagemap entries
                    continue
                page = start // PAGE
                last = end // PAGE
                while page < last:
                    n = min(_CHUNK_PAGES, last - page)
                    pagemap.seek(page * 8)
                    data = pagemap.read(n * 8)
                    for (entry,) in struct.iter_unpack("<Q", data):
                        if entry & _PRESENT:
                            pfn = entry & _PFN_MASK
                            if pfn == 0:
                                hidden = True
                            else:
                                found.add(pfn)
                    page += n
    except (FileNotFoundError, ProcessLookupError):
        return set()  # exited since it was listed: it holds nothing any more
    return None if hidden and not found else found


def unique_mb(pids: Iterable[int]) -> float | None:
    """MB resident in at least one of `pids`, each page once; None if any process's pages could not be read."""
    union: set[int] = set()
    for pid in pids:
        got = None
        with contextlib.suppress(PermissionError):
            got = frames(pid)
        if got is None:
            return None
        union |= got
    return len(union) * PAGE / MB
