"""A real ``motia-core serve`` for end-to-end tests: :class:`MotiaApp` (docs/testing.md).

It starts the core with its real runners on a project, on a free loopback port, and talks to it over
HTTP only: the project's endpoints, and the admin API (``/__motia/*``, open to loopback clients without
a token) to wait for state values, stream items and traces. Blocking and stdlib-only, so a plain
``def`` test can use it and the SDK gains no dependency; the pytest plugin (``motia.pytest_plugin``)
wraps it in the ``motia_app`` fixture.
"""

from __future__ import annotations

import atexit
import collections
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import MotiaError

DEFAULT_WAIT = 30.0
"""Seconds a ``wait_for_*`` helper waits by default: generous, CI machines are slow."""


class MotiaAppError(MotiaError, AssertionError):
    """The core did not start, exited, or a ``wait_for_*`` timed out. An AssertionError, so pytest reports
    it as a test failure; the message ends with the core's last output lines."""


@dataclass(frozen=True)
class Response:
    """An endpoint's answer: ``body`` is the decoded JSON when the response is JSON, else the text."""

    status: int
    headers: dict[str, str]
    body: Any
    text: str
    trace_id: str = ""


@dataclass
class _Output:
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=2000))
    listening: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def core_command() -> list[str]:
    """How to run motia-core: env ``MOTIA_CORE_BIN`` (a path or a command line), else this Python's
    ``-m motia_core`` when it is installed here, else ``motia-core`` on PATH."""
    configured = os.environ.get("MOTIA_CORE_BIN", "").strip()
    if configured:
        return configured.split()
    if importlib.util.find_spec("motia_core") is not None:
        return [sys.executable, "-m", "motia_core"]
    found = shutil.which("motia-core")
    if found is None:
        raise MotiaAppError(
            "cannot find motia-core: install it in this environment (pip install motia-core), put it on PATH, "
            "or set MOTIA_CORE_BIN to its path"
        )
    return [found]


def _parent_death_signal() -> Callable[[], object] | None:
    """Linux: a function for the child (between fork and exec) that asks the kernel to SIGTERM it when the
    test process dies without stopping it (killed by CI, a hard timeout); the core then stops its runners,
    so nothing is orphaned even then. Resolved here, in the parent: loading a library after fork is unsafe."""
    if sys.platform != "linux":
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG


class MotiaApp:
    """A running ``motia-core serve`` on ``project``; use :meth:`start`, then :meth:`stop` (idempotent)."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, project: Path, output: _Output) -> None:
        self.proc = proc
        self.url = url
        self.project = project
        self._output = output
        atexit.register(self.stop)

    @classmethod
    def start(
        cls,
        project: str | os.PathLike[str],
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 60.0,
    ) -> MotiaApp:
        """Start the core on ``project`` and wait until it listens (its runners are then connected)."""
        root = Path(project).resolve()
        if not root.is_dir():
            raise MotiaAppError(f"motia project directory {root} does not exist")
        port = free_port()
        cmd = [
            *core_command(),
            "serve",
            "--dir",
            str(root),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--log-format",
            "json",
            *args,
        ]
        proc = subprocess.Popen(
            cmd,
            cwd=str(root),
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_parent_death_signal(),
        )
        output = _Output()
        threading.Thread(target=_read, args=(proc, output), daemon=True, name="motia-app-output").start()
        app = cls(proc, f"http://127.0.0.1:{port}", root, output)
        deadline = time.monotonic() + ready_timeout
        while not output.listening.wait(0.05):
            if proc.poll() is not None:
                app.stop()
                raise MotiaAppError(
                    f"motia-core ({' '.join(cmd)}) exited with {proc.returncode} before it listened" + app._tail()
                )
            if time.monotonic() > deadline:
                app.stop()
                raise MotiaAppError(f"motia-core did not listen on {app.url} within {ready_timeout:g} s" + app._tail())
        return app

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.proc.pid

    def runner_pids(self) -> dict[str, int]:
        """The pid of each runner by language, from ``/__motia/runners``."""
        doc = self._admin("/__motia/runners")
        return {r["runtime"]: r["pid"] for r in doc["runners"] if r.get("pid")}

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the core (it stops its runners) and wait; SIGKILL after ``timeout``. Idempotent."""
        atexit.unregister(self.stop)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def output(self) -> str:
        """The core's last output lines (JSON log lines)."""
        with self._output.lock:
            return "\n".join(list(self._output.lines)[-200:])

    def logs(self) -> list[dict[str, Any]]:
        """The core's JSON log lines so far, decoded."""
        with self._output.lock:
            lines = list(self._output.lines)
        docs = []
        for line in lines:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                docs.append(doc)
        return docs

    def _tail(self) -> str:
        return "\n--- motia-core output (last lines) ---\n" + self.output()

    # -- calling endpoints ------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """Call an endpoint; ``json_body`` is sent as JSON. Never raises for an HTTP error status."""
        sent = dict(headers or {})
        data: bytes | None = body.encode() if isinstance(body, str) else body
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("content-type", "application/json")
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return _response(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return _response(err.code, dict(err.headers.items()), err.read())

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return self.call("POST", path, json_body=json_body, **kwargs)

    # -- waiting for effects ----------------------------------------------------------------------

    def wait_for_state(
        self, group: str, key: str, until: Callable[[Any], bool] | None = None, *, timeout: float = DEFAULT_WAIT
    ) -> Any:
        """The value at ``group``/``key`` once it exists (and ``until(value)`` holds)."""

        def probe() -> tuple[bool, Any]:
            items = self._admin(f"/__motia/state/{_seg(group)}")["items"]
            for item in items:
                if item["key"] == key and (until is None or until(item["value"])):
                    return True, item["value"]
            return False, None

        return self._poll(f"state {group}/{key}", probe, timeout)

    def wait_for_stream_item(
        self,
        stream: str,
        group: str,
        item_id: str,
        until: Callable[[Any], bool] | None = None,
        *,
        timeout: float = DEFAULT_WAIT,
    ) -> Any:
        """The stream item (``{...data, "id"}``) once it exists (and ``until(item)`` holds)."""

        def probe() -> tuple[bool, Any]:
            item = self._admin(f"/__motia/streams/item/{_seg(stream)}/{_seg(group)}/{_seg(item_id)}")
            return item is not None and (until is None or until(item)), item

        return self._poll(f"stream item {stream}/{group}/{item_id}", probe, timeout)

    def wait_for_trace(
        self, trace_id: str, until: Callable[[dict[str, Any]], bool] | None = None, *, timeout: float = DEFAULT_WAIT
    ) -> dict[str, Any]:
        """The trace (``GET /__motia/traces/{id}``) once ``until(trace)`` holds (default: nothing runs)."""
        done = until or (lambda trace: trace["status"] != "running" and bool(trace["spans"]))

        def probe() -> tuple[bool, Any]:
            try:
                trace = self._admin(f"/__motia/traces/{_seg(trace_id)}")
            except urllib.error.HTTPError as err:
                if err.code == 404:
                    return False, None
                raise
            return done(trace), trace

        found: dict[str, Any] = self._poll(f"trace {trace_id}", probe, timeout)
        return found

    def wait_for_step(self, trace_id: str, step: str, *, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """The trace once ``step`` ran to completion in it: an event handled."""
        return self.wait_for_trace(
            trace_id,
            lambda t: any(s["step"] == step and s["status"] == "completed" for s in t["spans"]),
            timeout=timeout,
        )

    def wait_for_log(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = DEFAULT_WAIT
    ) -> dict[str, Any]:
        """The first JSON log line of the core for which ``predicate`` holds."""

        def probe() -> tuple[bool, Any]:
            for doc in self.logs():
                if predicate(doc):
                    return True, doc
            return False, None

        found: dict[str, Any] = self._poll("a matching log line", probe, timeout)
        return found

    def _admin(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def _poll(self, what: str, probe: Callable[[], tuple[bool, Any]], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        last_error = "none"
        while True:
            if self.proc.poll() is not None:
                raise MotiaAppError(
                    f"motia-core exited with {self.proc.returncode} while waiting for {what}" + self._tail()
                )
            try:
                ok, value = probe()
                if ok:
                    return value
            except (OSError, ValueError, KeyError, TypeError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise MotiaAppError(
                    f"timed out after {timeout:g} s waiting for {what} (last error: {last_error})" + self._tail()
                )
            time.sleep(0.05)


def _seg(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _response(status: int, headers: dict[str, str], raw: bytes) -> Response:
    lowered = {k.lower(): v for k, v in headers.items()}
    text = raw.decode("utf-8", errors="replace")
    body: Any = text
    if "json" in lowered.get("content-type", "") and text:
        body = json.loads(text)
    return Response(status, lowered, body, text, lowered.get("x-motia-trace-id", ""))


def _read(proc: subprocess.Popen[bytes], output: _Output) -> None:
    assert proc.stdout is not None
    with proc.stdout:
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with output.lock:
                output.lines.append(line)
            if "listening on" in line:
                output.listening.set()
