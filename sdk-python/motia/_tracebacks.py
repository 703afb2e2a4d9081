"""Tracebacks as a step author wants to read them: their frames, not the runner's."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import traceback
from collections.abc import Iterable

_SDK_DIR = os.path.dirname(os.path.abspath(__file__))
_ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__))
_FUTURES_DIR = os.path.dirname(os.path.abspath(concurrent.futures.__file__))
_INTERNAL_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


def _is_internal(filename: str, dirs: tuple[str, ...]) -> bool:
    if filename in _INTERNAL_FILES:
        return True
    return any(filename.startswith(directory + os.sep) for directory in dirs)


def _trim(te: traceback.TracebackException, dirs: tuple[str, ...], seen: set[int]) -> None:
    if id(te) in seen:
        return
    seen.add(id(te))
    kept = [frame for frame in te.stack if not _is_internal(frame.filename, dirs)]
    if kept:  # keep everything rather than nothing
        te.stack = traceback.StackSummary.from_list(kept)
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _trim(chained, dirs, seen)


def format_user_traceback(exc: BaseException, internal_dirs: Iterable[str] = ()) -> str:
    """The formatted traceback of ``exc`` (with its causes), without SDK, runner and asyncio frames."""
    dirs = (_SDK_DIR, _ASYNCIO_DIR, _FUTURES_DIR, *(os.path.abspath(d) for d in internal_dirs))
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
    _trim(te, dirs, set())
    return "".join(te.format())
