"""Processes the bench starts: each in its own session (process group), pinned with taskset, logged
to a file, and stopped with everything it spawned, whatever happens to the bench.

Runners started by motia-core live in sessions of their own, so stopping a service signals its
process group *and* every descendant seen while it ran (tracked by pid and start time, so a
recycled pid is never signalled).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import psutil

_LIVE: list[Service] = []


def free_port(kind: int = socket.SOCK_STREAM, pair_offset: int | None = None) -> int:
    """A free loopback port (and, with pair_offset, one whose port+offset is free too)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if pair_offset is None:
            return port
        other = port + pair_offset
        if other < 65536 and _is_free(other) and _is_free(port):
            return port
    raise RuntimeError("no free port pair found")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def pinned(cpus: str | None, argv: Sequence[str]) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus else list(argv)


class Service:
    """A long-running process of the bench (a server under test, a helper server)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log: Path,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        cpus: str | None = None,
        new_session: bool = True,
    ) -> None:
        self.name = name
        # False: stay in the caller's session (and Linux autogroup), as a plain shell script would;
        # stop() then signals the process itself, never the caller's process group.
        self.new_session = new_session
        self.argv = pinned(cpus, argv)
        self.log_path = log
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._seen: dict[int, float] = {}  # pid -> create_time of every descendant observed

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
        )
        log.close()
        _LIVE.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def descendants(self) -> list[psutil.Process]:
        """The service's live descendants (and remember them for stop())."""
        try:
            kids = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return []
        for k in kids:
            with contextlib.suppress(psutil.Error):
                self._seen[k.pid] = k.create_time()
        return kids

    def wait_http(self, url: str, timeout: float, poll: float = 0.005) -> float:
        """Poll until `url` answers 200; return seconds since start(). Raises if the process dies."""
        deadline = time.perf_counter() + timeout
        while True:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with code {self.proc.returncode if self.proc else '?'}: {self.tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=1.0) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - self.started_at
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} did not answer 200 on {url} within {timeout:g}s: {self.tail()}")
            time.sleep(poll)

    def _signal(self, signum: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.new_session:
                os.killpg(self.proc.pid, signum)
            elif self.proc.poll() is None:
                self.proc.send_signal(signum)

    def tail(self, lines: int = 12) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, wait `grace`, then SIGKILL the group and every descendant seen."""
        if self.proc is None:
            return
        self.descendants()
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2.0)
        # descendants in other sessions (motia-core runners) leave on their own when the core's
        # stdin pipe closes; give them a moment, then make sure
        deadline = time.monotonic() + 2.0
        for pid, created in self._seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() != created:
                    continue
                p.wait(max(0.0, deadline - time.monotonic()))
            except psutil.TimeoutExpired:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            except psutil.Error:
                pass
        if self in _LIVE:
            _LIVE.remove(self)


def stop_all() -> None:
    for svc in list(reversed(_LIVE)):
        with contextlib.suppress(Exception):
            svc.stop(grace=2.0)


def run_bounded(
    argv: Sequence[str], timeout: float, new_session: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a bounded helper (a load generator) in its own process group; kill the group on timeout.
    new_session=False keeps it in the caller's session (its Linux autogroup); it is then killed alone."""
    proc = subprocess.Popen(list(argv), start_new_session=new_session, text=True, **kwargs)  # type: ignore[call-overload]

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            if new_session:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()

    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill()
        proc.communicate()
        raise
    except BaseException:
        kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def install_cleanup() -> None:
    """Stop every service on exit, on SIGTERM and on SIGINT (Ctrl-C)."""
    atexit.register(stop_all)

    def on_signal(signum: int, _frame: object) -> None:
        stop_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
