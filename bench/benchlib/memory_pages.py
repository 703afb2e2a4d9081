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
    by_mapping = frames_by_mapping(pid)
    if by_mapping is None:
        return None
    return set().union(*by_mapping.values())


def mapping_name(line: str) -> str:
    """What a /proc/<pid>/maps line maps: a file's base name, or "anonymous" (heap, stacks, V8's and
    pymalloc's arenas, grpc's allocations: everything no file backs)."""
    parts = line.split(maxsplit=5)
    path = parts[5].strip() if len(parts) > 5 else ""
    if path.startswith("/") and not path.endswith("(deleted)"):
        return os.path.basename(path)
    return "anonymous"


def frames_by_mapping(pid: int) -> dict[str, set[int]] | None:
    """frames(), grouped by mapping_name()."""
    found: dict[str, set[int]] = {}
    hidden = False
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb", buffering=0) as pagemap:
            for line in maps:
                start, end = (int(x, 16) for x in line.split(maxsplit=1)[0].split("-"))
                if start >= 1 << 47:  # [vsyscall]: kernel address space, no pagemap entries
                    continue
                into = found.setdefault(mapping_name(line), set())
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
                                into.add(pfn)
                    page += n
    except (FileNotFoundError, ProcessLookupError):
        return {}  # exited since it was listed: it holds nothing any more
    return None if hidden and not any(found.values()) else found


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


def unique_by_mapping_mb(pids: Iterable[int]) -> dict[str, float] | None:
    """unique_mb() split by what holds the pages: each file (the node binary, libpython, grpc's cygrpc
    .so, ...) and "anonymous"; each page once over the group, so the values add up to unique_mb()."""
    found = unique_and_split_mb(pids)
    return None if found is None else found[1]


def unique_and_split_mb(pids: Iterable[int]) -> tuple[float, dict[str, float]] | None:
    """unique_mb() and unique_by_mapping_mb() from one read of the processes' page tables."""
    union: dict[str, set[int]] = {}
    for pid in pids:
        got = None
        with contextlib.suppress(PermissionError):
            got = frames_by_mapping(pid)
        if got is None:
            return None
        for name, pfns in got.items():
            union.setdefault(name, set()).update(pfns)
    total = len(set().union(*union.values())) * PAGE / MB
    return total, {name: len(pfns) * PAGE / MB for name, pfns in union.items()}
