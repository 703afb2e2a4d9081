"""Free loopback ports for the test harness, safe when pytest-xdist runs workers side by side.

`bind(0)` then close hands back a port nobody holds *now*: between the close and the server's own
bind, another worker's `bind(0)` can be given the same port. Under xdist (PYTHONXDIST_WORKER or
PYTEST_XDIST_WORKER set, e.g. "gw1") each worker therefore draws from a range of its own, below the
kernel's ephemeral range (32768-60999 on Linux, where outgoing connections take theirs), walking it
round-robin so a port just released is not handed out again at once. Serial runs keep `bind(0)`.
"""

from __future__ import annotations

import itertools
import os
import re
import socket

RANGE_START = 20000
RANGE_SIZE = 1000  # ports per worker: workers gw0..gw11 fit below 32768
_WORKER = re.compile(r"gw(\d+)$")


def _worker_index() -> int | None:
    name = os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("PYTHONXDIST_WORKER") or ""
    found = _WORKER.match(name)
    return int(found.group(1)) if found else None


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_INDEX = _worker_index()
_NEXT = itertools.cycle(range(RANGE_SIZE)) if _INDEX is not None else None


def free_port() -> int:
    """A loopback TCP port free at the time of the call (and, under xdist, no other worker's)."""
    if _INDEX is None or _NEXT is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    base = RANGE_START + _INDEX * RANGE_SIZE
    for _ in range(RANGE_SIZE):
        port = base + next(_NEXT)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {base}-{base + RANGE_SIZE - 1} (xdist worker gw{_INDEX})")
