"""The Workbench: the browser UI the core serves (docs/workbench.md).

Its sources live in core/workbench-ui (React, bundled by esbuild); `make install` writes the bundle to
STATIC_DIR, which http/workbench.py serves behind the admin guard. Plugin panels come from the entry
point group motia_core.workbench_panels (plugins.py).
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_PATH = "/__workbench"
# Paths the Workbench may not take: those the core already serves (steps.RESERVED_PATH_PREFIXES
# minus the Workbench's own default) would make two handlers claim one URL.
_TAKEN = ("/__motia", "/emit", "/metrics")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def workbench_path_problem(path: str) -> str | None:
    """Why `path` cannot be the Workbench's mount point (--workbench-path), or None."""
    if not path.startswith("/") or path == "/":
        return "must start with '/' and name a path below the root, e.g. /__workbench"
    if path.endswith("/"):
        return "must not end with '/' (the Workbench answers at PATH/)"
    for segment in path[1:].split("/"):
        if not _PATH_SEGMENT.fullmatch(segment) or segment in (".", ".."):
            return f"segment {segment!r} is not a plain path segment (letters, digits, '.', '_', '~', '-')"
    for taken in _TAKEN:
        if path == taken or path.startswith(taken + "/") or taken.startswith(path + "/"):
            return f"overlaps {taken}, which the core serves itself"
    return None
