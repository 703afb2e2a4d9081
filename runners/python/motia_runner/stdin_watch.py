"""Exit the moment the core goes away: its end of our stdin pipe closes (even on ``kill -9``).

A daemon thread blocks on ``read(stdin)``; it works even while a handler blocks the event loop.
Only a pipe or socket is watched: a terminal or ``/dev/null`` (running the runner by hand) is not.
"""

from __future__ import annotations

import os
import stat
import sys
import threading

from .errors import ExitCode


def _flush_and_exit() -> None:
    try:
        sys.stderr.write("motia runner: stdin closed (the core went away); exiting\n")
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(ExitCode.FAILED)


def _read_until_eof(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass
    _flush_and_exit()


def watch_stdin() -> bool:
    """Start the watcher thread; returns False when stdin is not a pipe or socket."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return False
    threading.Thread(target=_read_until_eof, args=(fd,), name="motia-stdin-watch", daemon=True).start()
    return True
