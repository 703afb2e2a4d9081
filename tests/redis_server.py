"""A real redis-server for tests: started on a free loopback port with its own directory, stopped after.

Debian's redis-server (installed by `make install`). Never a shared or system instance: each fixture
gets its own process, data directory and port, so tests cannot see each other's keys.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.ports import free_port

# url -> how to stop each process started against it (CoreProcess registers itself): stop() ends them
# before Redis, so a test's teardown never leaves cores retrying a Redis that is gone until their
# shutdown gives up (seconds each).
_DEPENDENTS: dict[str, list[Callable[[], object]]] = {}


def depends_on(url: str, stop: Callable[[], object]) -> None:
    """`stop` is called when the RedisServer at `url` is stopped for good (not by restart() or kill())."""
    _DEPENDENTS.setdefault(url, []).append(stop)


def stop_together(stops: list[Callable[[], object]]) -> None:
    """Call every `stop` at once, each in a thread: several cores' shutdowns overlap instead of adding up.
    The first failure is raised once all are done."""
    failures: list[BaseException] = []

    def run(stop: Callable[[], object]) -> None:
        try:
            stop()
        except BaseException as exc:  # raised in the caller's thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(stop,), daemon=True) for stop in stops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


class RedisServer:
    """One redis-server process. `restart()` keeps its data directory (appendonly file) and port."""

    def __init__(self, workdir: Path, appendfsync: str = "always") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make install` (apt-get install redis-server)")
        self.binary = binary
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.appendfsync = appendfsync
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.dir),
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", self.appendfsync,
                "--protected-mode", "yes",
                "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{log}")
            if self.ping():
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:g}s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the processes that use this server first (a core stops faster with Redis there), then it."""
        stop_together(_DEPENDENTS.pop(self.url, []))
        self._terminate(timeout)

    def _terminate(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> None:
        self._terminate()
        self.start()
