"""Cold start (issue 15 item 4): `serve` spawns the runners that wait for the core's socket (the Node
runner: MOTIA_CORE_CONNECT_WAIT_MS) before it imports grpc and listens (coldstart.ServerAhead); the
runner connects once the server is up, or exits with a clear error when it never comes."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from motia_core.coldstart import DeferredCalls, ServerAhead, launch_runners
from motia_core.logs import Logger
from motia_core.runner_registry import installed_runners
from motia_core.runners.grpc_server import GrpcRunnerServer
from motia_core.runners.launch import RunnerLauncher
from motia_core.runners.supervisor import RunnerProcess
from tests.conftest import CoreProcess, copy_fixture

NODE_RUNNER = Path(__file__).resolve().parents[1] / "runners" / "node" / "dist" / "runner.cjs"
GRPC = ("grpc", "google.protobuf", "motia_core.runners.grpc_server", "motia_core.runners.grpc_session")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not NODE_RUNNER.exists(), reason="node or runners/node/dist/runner.cjs missing"
)


def test_the_spawn_path_imports_no_grpc() -> None:
    code = (
        "import json, sys\n"
        "from motia_core import cli, coldstart, builtin_runners\n"
        "from motia_core.runners import supervisor, launch, loading\n"
        f"print(json.dumps([m for m in {GRPC!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("ahead", ["1", ""])
def test_serve_spawns_the_node_runner_before_its_server_listens_when_asked_and_serves(
    start_core: Callable[..., CoreProcess], ahead: str
) -> None:
    core = start_core("cs_app", env={"MOTIA_SPAWN_AHEAD": ahead})
    msgs = [d.get("msg", "") for d in core.logs]
    spawning = next(i for i, m in enumerate(msgs) if m.startswith("runners spawning: "))
    listening = next(i for i, m in enumerate(msgs) if m.startswith("runner server listening; "))
    if ahead:  # node first, python after the server listens
        assert spawning < listening
        assert msgs[listening] == "runner server listening; 1 runner(s) spawned before it"
    else:  # the default: every runner after the server listens, as before
        assert listening < spawning
        assert msgs[listening] == "runner server listening; 0 runner(s) spawned before it"
    with urllib.request.urlopen(core.url + "/cs/ping", timeout=10) as resp:
        assert (resp.status, json.loads(resp.read())) == (200, {"ok": True, "from": "ts"})
    assert core.stop() == 0


def _runner_env(address: str, secret: str, project: Path, wait_ms: str) -> dict[str, str]:
    return {
        **os.environ,
        "MOTIA_CORE_ADDRESS": address,
        "MOTIA_RUNNER_SECRET": secret,
        "MOTIA_PROJECT_DIR": str(project),
        "MOTIA_CORE_CONNECT_WAIT_MS": wait_ms,
    }


@pytest.mark.timeout(120)
def test_a_node_runner_spawned_before_the_server_connects_once_it_listens(tmp_path: Path) -> None:
    async def scenario() -> str:
        ahead = ServerAhead(DeferredCalls(), Logger("json", stream=io.StringIO()), str(tmp_path))
        secret = secrets.token_urlsafe(16)
        connected = ahead.expect(secret)
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_RUNNER),
            stdin=asyncio.subprocess.PIPE,
            env=_runner_env(ahead.address, secret, tmp_path, "60000"),
            cwd=tmp_path,
        )
        try:
            await asyncio.sleep(1.5)  # the runner is up and probing a socket that does not exist yet
            assert proc.returncode is None
            await ahead.start()
            session = await asyncio.wait_for(connected, 60)
            return session.info.language
        finally:
            proc.kill()
            await proc.wait()
            await ahead.stop(0)

    assert asyncio.run(scenario()) == "node"


@pytest.mark.timeout(120)
def test_a_server_that_never_listens_ends_the_node_runner_with_a_clear_error(tmp_path: Path) -> None:
    socket = tmp_path / "never.sock"
    started = time.monotonic()
    code, err = _run_with_open_stdin(
        ["node", str(NODE_RUNNER)], _runner_env(f"unix:{socket}", "s", tmp_path, "1500"), tmp_path
    )
    assert code == 2, err
    assert f"the core's socket {socket} did not accept a connection within 1500 ms" in err
    assert time.monotonic() - started >= 1.5


def _run_with_open_stdin(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Exit code and stderr. A runner exits when its stdin closes (the core died): it stays open here,
    so only the runner itself can end it."""
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd) as proc:
        assert proc.stderr is not None
        try:
            err = proc.stderr.read()  # returns at EOF: when the runner exits
            return proc.wait(timeout=100), err
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_bad_wait_value_is_refused_by_name(tmp_path: Path) -> None:
    code, err = _run_with_open_stdin(
        ["node", str(NODE_RUNNER)], _runner_env(f"unix:{tmp_path}/x.sock", "s", tmp_path, "soon"), tmp_path
    )
    assert code == 2
    assert "MOTIA_CORE_CONNECT_WAIT_MS must be an integer from 0 to 600000 (ms), got 'soon'" in err


class _NoServer(ServerAhead):
    async def start(self) -> GrpcRunnerServer:
        raise RuntimeError("no gRPC server today")


@pytest.mark.timeout(120)
def test_a_server_that_fails_to_start_stops_the_runners_spawned_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_fixture("cs_app", tmp_path)
    logger = Logger("json", stream=io.StringIO())

    monkeypatch.setenv("MOTIA_SPAWN_AHEAD", "1")

    async def scenario() -> tuple[list[RunnerProcess], int | None]:
        runners = installed_runners(project, None)
        launcher = RunnerLauncher(project, runners, logger, strict=False, slots=8)
        ahead = _NoServer(DeferredCalls(), logger, str(project))
        spawned: list[RunnerProcess] = []
        real_init = RunnerProcess.__init__

        def keep(self: RunnerProcess, *args: Any, **kwargs: Any) -> None:
            real_init(self, *args, **kwargs)
            spawned.append(self)

        RunnerProcess.__init__ = keep  # type: ignore[method-assign]
        try:
            with pytest.raises(RuntimeError, match="no gRPC server today"):
                await launch_runners(project, None, runners, launcher, ahead, logger, lambda *a: None)
            # as launch_runners returns, not later (asyncio.run's clean-up would end it anyway)
            node = next(p for p in spawned if p.name == "node")
            assert node.process is not None  # it was spawned
            code = node.process.returncode
        finally:
            RunnerProcess.__init__ = real_init  # type: ignore[method-assign]
            await ahead.stop(0)
        return spawned, code

    spawned, code = asyncio.run(scenario())
    assert code is not None  # stopped by launch_runners itself
    python = next(p for p in spawned if p.name == "python")
    assert python.process is None  # never spawned: it would not have waited for the socket
