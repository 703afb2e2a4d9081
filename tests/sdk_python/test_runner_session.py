"""The real runner process against an in-test core: handshake, load, invoke, calls, ping, exits."""

from __future__ import annotations

import asyncio
import json
import tempfile
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

from .fake_core import FakeCore

API_STEP = """
    from ..middleware.auth import auth

    config = {"type": "api", "name": "Hello", "path": "/hello/:id", "method": "POST", "emits": ["hi"],
              "middleware": [auth]}

    async def handler(req, context):
        context.emit({"topic": "hi", "data": {"id": req.path_params["id"]}})
        await context.state.set("g", req.path_params["id"], req.body)
        context.logger.info("said hi", {"user": req.user})
        stored = await context.state.get("g", req.path_params["id"])
        return {"status": 200, "body": {"user": req.user, "stored": stored}}
"""

AUTH = """
    async def auth(req, ctx, next_fn):
        if not req["headers"].get("authorization"):
            return {"status": 401, "body": {"error": "no"}}
        req["user"] = "alice"
        return await next_fn()
"""

SYNC_EVENT = """
    import threading
    config = {"type": "event", "name": "Count", "subscribes": ["hi"], "emits": []}

    def handler(data, context):
        n = context.state.get("count", "n") or 0
        context.state.set("count", "n", n + 1)
        return {"thread": threading.current_thread().name}
"""

RAISES = """
    config = {"type": "event", "name": "Raises", "subscribes": [], "emits": []}

    async def handler(data, context):
        raise KeyError("missing")
"""


def _project(root: Path) -> Path:
    for relative, source in {
        "steps/api/hello_step.py": API_STEP,
        "steps/middleware/auth.py": AUTH,
        "steps/count_step.py": SYNC_EVENT,
        "steps/raises_step.py": RAISES,
        "steps/broken_step.py": "import nope_not_here\n",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[FakeCore]:
    with tempfile.TemporaryDirectory(prefix="mr-") as socket_dir:  # short: unix socket paths are limited
        fake = FakeCore(f"{socket_dir}/core.sock", _project(tmp_path))
        await fake.start()
        try:
            yield fake
        finally:
            await fake.stop()


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """Wait for the exit without closing stdin first (communicate() would, and EOF means exit 1)."""
    assert proc.stderr is not None and proc.stdout is not None
    code = await asyncio.wait_for(proc.wait(), 10)
    await proc.stdout.read()
    stderr = await proc.stderr.read()
    if proc.stdin is not None:
        proc.stdin.close()
    return code, stderr.decode()


def _api(body: object, headers: dict[str, str] | None = None, id_: str = "1") -> dict[str, object]:
    return {"body": body, "headers": headers or {}, "pathParams": {"id": id_}, "queryParams": {}, "rawBody": ""}


async def test_full_session(core: FakeCore) -> None:
    proc = await core.spawn()
    await asyncio.wait_for(core.connected.wait(), 10)
    assert core.hello is not None and core.hello.language == "python" and core.hello.pid == proc.pid

    good = ["steps/api/hello_step.py", "steps/count_step.py", "steps/raises_step.py"]
    loaded = await core.load(*good, "steps/broken_step.py")
    assert sorted(s.step_id for s in loaded.steps) == good
    hello = next(s for s in loaded.steps if s.step_id == "steps/api/hello_step.py")
    assert json.loads(hello.config_json)["middleware"] == [{"$function": "auth"}] and hello.middleware_count == 1
    [broken] = loaded.errors
    assert broken.error_type == "ModuleNotFoundError" and "steps/broken_step.py:1" in broken.message

    result = await core.invoke("steps/api/hello_step.py", pb.TRIGGER_API, _api({"a": 1}, {"authorization": "x"}))
    assert result.fencing_token == 11
    assert json.loads(result.completed.payload_json) == {"status": 200, "body": {"user": "alice", "stored": {"a": 1}}}
    assert core.emits == [("hi", {"id": "1"})] and core.logs == [("LEVEL_INFO", "said hi", {"user": "alice"})]
    result = await core.invoke("steps/api/hello_step.py", pb.TRIGGER_API, _api({"a": 1}))
    assert json.loads(result.completed.payload_json) == {"status": 401, "body": {"error": "no"}}

    results = await asyncio.gather(*(core.invoke("steps/count_step.py", pb.TRIGGER_EVENT, {"i": i}) for i in range(50)))
    assert all(json.loads(r.completed.payload_json)["thread"].startswith("motia-handler") for r in results)

    failed = (await core.invoke("steps/raises_step.py", pb.TRIGGER_EVENT, {})).failed
    assert failed.kind == pb.FAILURE_KIND_HANDLER_ERROR and failed.error_type == "KeyError"
    assert 'raises_step.py", line 5, in handler' in failed.stack
    assert (await core.invoke("nope", pb.TRIGGER_EVENT, {})).failed.kind == pb.FAILURE_KIND_UNKNOWN_STEP
    await core.ping(7)

    core.send(shutdown=pb.Shutdown(grace_ms=1000))
    late = await core.invoke("steps/count_step.py", pb.TRIGGER_EVENT, {})
    assert late.failed.kind == pb.FAILURE_KIND_SHUTTING_DOWN
    code, stderr = await _finish(proc)
    assert code == 0, stderr


async def test_refusal_exits_2(core: FakeCore) -> None:
    proc = await core.spawn(secret="wrong")
    code, stderr = await _finish(proc)
    assert code == 2 and "CODE_BAD_SECRET: bad secret" in stderr


async def test_stdin_eof_exits_1(core: FakeCore) -> None:
    proc = await core.spawn()
    await asyncio.wait_for(core.connected.wait(), 10)
    assert proc.stdin is not None
    proc.stdin.close()
    code, stderr = await _finish(proc)
    assert code == 1 and "stdin closed" in stderr


async def test_stream_end_without_shutdown_exits_1(core: FakeCore) -> None:
    proc = await core.spawn()
    await asyncio.wait_for(core.connected.wait(), 10)
    await core.stop()
    code, stderr = await _finish(proc)
    assert code == 1 and "stream" in stderr
