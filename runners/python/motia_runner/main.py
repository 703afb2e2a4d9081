"""The runner process: settings, event loop, thread pool, exit code."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .errors import ExitCode, SettingsError
from .session import Session
from .settings import RunnerSettings
from .stdin_watch import watch_stdin

# At exit, how long idle worker threads get to finish before the process ends without them.
_THREAD_EXIT_WAIT_SECONDS = 0.5


def _new_loop(use_uvloop: bool) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:  # e.g. a project interpreter without it: plain asyncio works the same
            pass
        else:
            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop
    return asyncio.new_event_loop()


def _configure_process() -> None:
    # Lines printed by handlers reach the core (which logs stdout/stderr line by line) at once.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    # Ctrl-C in the core's terminal reaches the whole process group; the core decides when we stop.
    if not sys.stdin.isatty():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


def main() -> int:
    """Run the runner until the core lets it go; returns the process exit code."""
    try:
        settings = RunnerSettings.from_env()
    except SettingsError as exc:
        sys.stderr.write(f"motia runner: {exc}\n")
        return ExitCode.ENVIRONMENT
    _configure_process()
    watch_stdin()
    loop = _new_loop(settings.use_uvloop)
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="motia-handler")
    loop.set_default_executor(executor)
    try:
        code = loop.run_until_complete(Session(settings, executor).run())
    except Exception as exc:  # a bug of ours, or an address grpc cannot parse: say so, exit 1
        sys.stderr.write(f"motia runner: internal error: {type(exc).__name__}: {exc}\n")
        code = ExitCode.FAILED
    finally:
        try:
            _cancel_leftovers(loop)
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    executor.shutdown(wait=False, cancel_futures=True)
    sys.stdout.flush()
    sys.stderr.flush()
    if not _threads_finished(timeout=_THREAD_EXIT_WAIT_SECONDS):
        # A `def` handler is still running (it outlived the shutdown grace): do not wait for it.
        os._exit(int(code))
    return int(code)


def _threads_finished(timeout: float) -> bool:
    """Give idle worker threads a moment to exit; True when only daemon threads remain."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            return False
    return True
