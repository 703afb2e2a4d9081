"""Cold start (issue 15 item 4, docs/performance.md#cold-start-where-the-time-goes): `serve` spawns the
runners before the core's heavy imports, the runners' sessions are adopted by the core, and nothing
of that is visible in what the project gets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from motia_core.coldstart import DeferredCalls
from motia_core.runners.transport import InvocationScope, RunnerInfo
from tests.conftest import CoreProcess, copy_fixture

HEAVY = ("aiohttp", "pydantic", "jsonschema", "motia_core.app", "motia_core.steps", "motia_core.backends")
GRPC = ("grpc", "google.protobuf", "motia_core.runners.grpc_server", "motia_core.runners.grpc_session")


def test_the_early_path_imports_none_of_the_heavy_stack() -> None:
    # everything `serve` imports before it spawns the runners (cli.py, coldstart.py and what they pull in)
    code = (
        "import json, sys, motia_core.cli, motia_core.coldstart, motia_core.project_config\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_the_spawn_path_imports_no_grpc() -> None:
    # grpc (~60-80 ms of CPU) is imported by EarlyStart.start only, after the project config is read
    code = (
        "import json, sys\n"
        "from motia_core import cli, coldstart, builtin_runners\n"
        "from motia_core.runners import supervisor, launch, loading\n"
        f"print(json.dumps([m for m in {GRPC!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def _index(core: CoreProcess, needle: str) -> int:
    for i, doc in enumerate(core.logs):
        if needle in doc.get("msg", ""):
            return i
    raise AssertionError(f"no log line with {needle!r}:\n{core.output()}")


def _get(url: str, data: bytes | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


def test_serve_spawns_the_runners_before_the_core_imports_and_serves_as_before(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("cs_app")
    spawning = _index(core, "runners spawning: ")
    imported = _index(core, "core imports done in ")
    loaded = _index(core, "loaded 2 steps")
    assert spawning < imported < loaded
    assert "node (1 files)" in core.logs[spawning]["msg"] and "python (1 files)" in core.logs[spawning]["msg"]
    assert _get(core.url + "/cs/ping") == (200, {"ok": True, "from": "ts"})
    # runner -> core calls through the adopted sessions reach the core's state
    assert _get(core.url + "/cs/count", b"{}") == (200, {"count": 1})
    assert _get(core.url + "/cs/count", b"{}") == (200, {"count": 2})
    core.wait_for_log(lambda d: d.get("msg") == "counted" and d.get("count") == 2)
    assert core.stop() == 0


def _project_processes(project: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cwd"]):
        try:
            if proc.info["cwd"] and Path(proc.info["cwd"]) == project:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_a_core_that_cannot_be_built_after_the_early_spawn_stops_its_runners(tmp_path: Path) -> None:
    project = copy_fixture("cs_app", tmp_path)
    cmd = [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", "0", "--log-level", "debug"]
    out = subprocess.run([*cmd, "--backend", "nosuch"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown storage backend 'nosuch'" in out.stderr
    assert "runners spawning: " in out.stdout + out.stderr  # they had been started: the test means something
    deadline = time.monotonic() + 10
    while _project_processes(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _project_processes(project) == []


class _Core:
    """The core's side of the calls, as far as this test uses it."""

    def __init__(self) -> None:
        self.logs: list[str] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def unexpected(*_args: Any) -> bytes:
            raise AssertionError(f"{name} was not called by this test")

        return unexpected

    async def emit(self, scope: InvocationScope | None, topic: str, data_json: bytes, group_id: str) -> bytes:
        return b'{"emitted":"' + topic.encode() + b'"}'

    def log(
        self,
        scope: InvocationScope | None,
        info: RunnerInfo,
        level: int,
        message: str,
        fields_json: bytes,
        time_ms: int,
    ) -> None:
        self.logs.append(message)


async def test_deferred_calls_wait_for_the_core_then_are_its_own_methods() -> None:
    calls = DeferredCalls()
    info = RunnerInfo("python", "3.11", "0", "i", 1, 1, 1)
    calls.log(None, info, 2, "before the core", b"{}", 0)
    pending = asyncio.ensure_future(calls.emit(None, "a.topic", b"{}", ""))
    await asyncio.sleep(0.05)
    assert not pending.done()  # no core yet: the call waits instead of failing
    core = _Core()
    calls.attach(core)
    assert await asyncio.wait_for(pending, 5) == b'{"emitted":"a.topic"}'
    assert core.logs == ["before the core"]  # kept, then replayed in order
    calls.log(None, info, 2, "after", b"{}", 0)
    assert core.logs == ["before the core", "after"]
    assert calls.emit == core.emit  # no extra hop once attached


def test_jsonschema_is_imported_at_the_first_schema_only() -> None:
    code = (
        "import json, sys\n"
        "from motia_core.schema import compile_schema\n"
        "before = 'jsonschema' in sys.modules\n"
        "assert compile_schema(None) == (None, None) and compile_schema({}) == (None, None)\n"
        "empty = 'jsonschema' in sys.modules\n"
        "ok, _ = compile_schema({'type': 'object', 'required': ['id']})\n"
        "_, bad = compile_schema({'type': 'nope'})\n"
        "_, ref = compile_schema({'$ref': '#/definitions/missing'})\n"
        "print(json.dumps([before, empty, 'jsonschema' in sys.modules, [v.path for v in ok.errors({})], bad, ref]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    before, empty, after, paths, bad, ref = json.loads(out.stdout)
    assert (before, empty, after) == (False, False, True)
    assert paths == ["/id"]
    assert "is not valid under any of the given schemas" in bad
    assert "does not resolve" in ref
