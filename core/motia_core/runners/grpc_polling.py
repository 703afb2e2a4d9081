"""grpc's polling path for the runner streams, chosen before the core imports grpc.

grpc 1.85 serves sockets with EventEngine endpoints by default: their own threads read and write the
socket, so each runner message hops EventEngine thread -> completion-queue poller thread -> event
loop. With the EventEngine endpoint experiments off, the poller thread that waits on the completion
queue reads the socket itself: at one request at a time that is about 5 context switches fewer per
API request in the core, and as many in the Python runner (docs/performance.md, "Per-request cost
at c1").

grpc reads GRPC_EXPERIMENTS once, when it is imported, so the variable is set just for that import
and taken back out afterwards: runner processes inherit the core's environment, and other grpc
builds (the Ruby runner's grpc 1.51) log an error for each experiment name they do not know. The
Python runner's bootstrap does the same for itself. A GRPC_EXPERIMENTS the user set is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

VARIABLE = "GRPC_EXPERIMENTS"
POLLING = "-event_engine_listener,-event_engine_for_all_other_endpoints,-event_engine_client"
# Beside our value while it is set: a process that imported this package but never grpc (so never
# took the value back out) passes both on; its children then know the value is ours, not the user's.
MARK = "MOTIA_GRPC_POLLING"

_set_here = False


def ours(environ: Mapping[str, str]) -> bool:
    """Whether GRPC_EXPERIMENTS is unset or holds the value a motia process chose, not the user's."""
    if VARIABLE not in environ:
        return True
    return environ.get(MARK) == "1" and environ.get(VARIABLE) == POLLING


def choose() -> None:
    """Call before grpc is imported (motia_core.runners' __init__)."""
    global _set_here
    if ours(os.environ):
        os.environ[VARIABLE] = POLLING
        os.environ[MARK] = "1"
        _set_here = True


def settled() -> None:
    """Call once grpc is imported: the children of this process do not see our choice."""
    global _set_here
    if _set_here:
        if ours(os.environ):
            os.environ.pop(VARIABLE, None)
            os.environ.pop(MARK, None)
        _set_here = False
