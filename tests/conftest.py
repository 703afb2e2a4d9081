"""Shared test harness: run the real `motia-core serve` on a copy of a fixture project."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import ports
from tests.redis_server import RedisServer, depends_on, stop_together

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


free_port = ports.free_port  # per-worker ranges under pytest-xdist (tests/ports.py)


class CoreProcess:
    """A `motia-core serve` subprocess with its JSON log lines collected."""

    def __init__(
        self,
        project: Path,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        command: str = "serve",  # or "dev" (tests/test_dev.py)
    ) -> None:
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs: list[dict[str, Any]] = []
        self.raw_lines: list[str] = []
        self._lock = threading.Lock()
        cmd = [
            sys.executable,
            "-m",
            "motia_core",
            command,
            "--dir",
            str(project),
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--log-format",
            "json",
            "--log-level",
            "debug",
            *(extra_args or []),
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=str(project),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        args = extra_args or []
        redis_url = args[args.index("--redis") + 1] if "--redis" in args[:-1] else (env or {}).get("MOTIA_REDIS_URL")
        if redis_url:  # stopped before its Redis (tests/redis_server.py), whatever the fixtures' order
            depends_on(redis_url, self.stop)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                self.raw_lines.append(line)
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict):
                    self.logs.append(doc)

    def wait_for_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for doc in self.logs:
                    if predicate(doc):
                        return doc
            if self.proc.poll() is not None:
                raise AssertionError(f"core exited with {self.proc.returncode}:\n" + self.output())
            time.sleep(0.02)
        raise AssertionError("log line not seen in time; output:\n" + self.output())

    def wait_ready(self, timeout: float = 30.0) -> None:
        try:
            self.wait_for_log(lambda d: "listening on" in d.get("msg", ""), timeout)
        except AssertionError:
            # a module fixture that fails here never reaches its own stop(): left running, the core's
            # stdout pipe is collected during some later test and fails it with a ResourceWarning
            self.stop()
            raise

    def find_logs(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        with self._lock:
            return [d for d in self.logs if predicate(d)]

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.raw_lines[-200:])

    def runner_pids(self) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(self.url + "/__motia/runners", timeout=5) as resp:
            doc = json.loads(resp.read())
        return {r["runtime"]: r["pid"] for r in doc["runners"] if r["pid"]}

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


def copy_fixture(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns(".motia", "__pycache__"))
    return target


@pytest.fixture
def start_core(tmp_path: Path) -> Iterator[Callable[..., CoreProcess]]:
    started: list[CoreProcess] = []

    def start(fixture: str, *args: str, wait: bool = True, env: dict[str, str] | None = None) -> CoreProcess:
        project = copy_fixture(fixture, tmp_path) if not (tmp_path / fixture).exists() else tmp_path / fixture
        core = CoreProcess(project, list(args), env)
        started.append(core)
        if wait:
            core.wait_ready()
        return core

    yield start
    stop_together([core.stop for core in started])


@pytest.fixture(scope="module")
def mixed_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """One core serving tests/fixtures/mixed, shared by a module's tests."""
    project = copy_fixture("mixed", tmp_path_factory.mktemp("mixed"))
    core = CoreProcess(project, env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    core.wait_ready()
    yield core
    core.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server on a free loopback port (tests/redis_server.py); `.url` to connect."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
    return True
