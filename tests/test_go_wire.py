"""The Go runner's behaviour at the protocol level, against a small in-test core (tests/ruby_wire.py's
WireCore, started on the Go binary): retry hints from errors, panics, typed inputs, lenient and strict
emits, Cancel while a call waits, results that are not JSON, and the config manifest."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from motia_runner_go.build import build

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from tests.conftest import copy_fixture
from tests.ruby_wire import API, EVENT, WireCore

pytestmark = [
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
    pytest.mark.timeout(300),  # a cold Go build cache compiles grpc-go first
]

STEPS = ("retry", "typed", "emit", "gate", "result")


class GoWireCore(WireCore):
    """WireCore with the project's Go runner binary as the runner process."""

    binary: Path

    async def start(self) -> None:
        from tests.core_end import serve_connect

        self._server = await serve_connect(f"unix:{self.socket}", self._connect)
        connected = self._expect("welcomed")
        self.proc = await asyncio.create_subprocess_exec(
            str(self.binary),
            cwd=self.project,
            env={
                **os.environ,
                "MOTIA_CORE_ADDRESS": f"unix:{self.socket}",
                "MOTIA_RUNNER_SECRET": self.secret,
                "MOTIA_PROJECT_DIR": str(self.project),
                "MOTIA_RUNNER_SLOTS": "64",
                **self.env,
            },
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.wait_for(connected, 15)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture("go_wire", tmp_path_factory.mktemp("go-wire"))


@pytest.fixture(scope="module")
def binary(project: Path) -> Path:
    return build(project).binary


@pytest.fixture
async def wire(tmp_path: Path, project: Path, binary: Path) -> AsyncIterator[Callable[..., Any]]:
    cores: list[GoWireCore] = []

    async def start(env: dict[str, str] | None = None) -> GoWireCore:
        core = GoWireCore(tmp_path, project, 0, env)
        core.binary = binary
        cores.append(core)
        await core.start()
        loaded = await core.load(*(f"steps/{name}_step.go" for name in STEPS))
        assert not loaded.errors, loaded.errors
        return core

    yield start
    for core in cores:
        await core.stop()


async def test_hello_names_the_go_runner(wire: Callable[..., Any]) -> None:
    core = await wire()
    assert core.hello is not None
    assert (core.hello.language, core.hello.concurrency_slots) == ("go", 64)
    assert core.hello.runtime_version.startswith("go1.") and core.hello.pid == core.proc.pid
    assert set(core.hello.capabilities) >= {"streams", "cancel", "drain"}


async def test_errors_steer_retries_and_panics_are_handler_errors(wire: Callable[..., Any]) -> None:
    core = await wire()

    async def fail(kind: str) -> pb.Failed:
        result = await core.invoke("steps/retry_step.go", EVENT, {"kind": kind})
        assert result.WhichOneof("outcome") == "failed"
        failed: pb.Failed = result.failed
        assert failed.kind == pb.FAILURE_KIND_HANDLER_ERROR
        return failed

    after = await fail("after")
    assert (after.error_type, after.message, after.retry_after_ms, after.non_retryable) == (
        "errors.errorString",
        "slow down",
        2500,
        False,
    )
    assert "steps/retry_step.go:18" in after.stack  # the handler's file and line
    assert (await fail("tiny")).retry_after_ms == 1  # never rounded down to "the default"
    never = await fail("never")
    assert (never.message, never.non_retryable, never.retry_after_ms) == ("bad input", True, 0)
    wrapped = await fail("wrapped")  # the wish survives fmt.Errorf("%w")
    assert (wrapped.message, wrapped.non_retryable, wrapped.error_type) == (
        "charging: card declined",
        True,
        "fmt.wrapError",
    )
    panicked = await fail("panic")
    assert (panicked.error_type, panicked.message) == ("panic", "the handler panicked: kaboom")
    assert "retry_step.go" in panicked.stack
    ok = await core.invoke("steps/retry_step.go", EVENT, {"kind": "fine"})
    assert ok.WhichOneof("outcome") == "completed" and ok.completed.payload_json == b""


async def test_typed_event_input_is_decoded_and_bad_data_is_not_retried(wire: Callable[..., Any]) -> None:
    core = await wire()
    ok = await core.invoke("steps/typed_step.go", EVENT, {"n": 21})
    assert ok.WhichOneof("outcome") == "completed"
    assert core.emits == [("typed.done", {"double": 42})]
    bad = await core.invoke("steps/typed_step.go", EVENT, {"n": "not a number"})
    assert bad.failed.non_retryable is True
    assert "the event data does not decode into steps.typedInput" in bad.failed.message


async def test_an_emit_without_a_topic_is_dropped_with_a_warning_or_fails_under_strict(
    wire: Callable[..., Any],
) -> None:
    core = await wire()
    result = await core.invoke("steps/emit_step.go", EVENT, {})
    assert result.WhichOneof("outcome") == "completed" and core.emits == []
    [(_, warning)] = [(rid, log) for rid, log in core.logs if log.level == pb.Log.LEVEL_WARN]
    assert json.loads(warning.fields_json) == {
        "motia": "emit_dropped",
        "reason": "no_topic",
        "file": "steps/emit_step.go",
        "line": 12,  # the EmitEvent call
    }
    strict = await wire(env={"MOTIA_STRICT": "1"})
    failed = await strict.invoke("steps/emit_step.go", EVENT, {})
    assert failed.failed.message == "emit: an event needs a non-empty Topic"


async def test_cancel_fails_the_waiting_call_and_confirms_without_a_result(wire: Callable[..., Any]) -> None:
    core = await wire()
    invocation_id, result = core.start_invocation("steps/gate_step.go", EVENT, {})
    await core.wait_for(lambda: bool(core.held), "the gated state_get")
    cancelled = await core.cancel(invocation_id)
    assert cancelled.fencing_token == 7
    fields = core.log_fields("gate call returned")
    assert fields == [{"error": "state_get: the invocation was cancelled by the core", "ctxErr": "context canceled"}]
    await core.ping(1)
    assert f"result:{invocation_id}" not in core.kinds() and not result.done()
    unknown = await core.cancel("never-started")
    assert unknown.fencing_token == 0


async def test_api_results_encode_as_json_or_fail_bad_result(wire: Callable[..., Any]) -> None:
    core = await wire()
    request = {
        "body": {"x": 1},
        "headers": {"x-h": "v"},
        "pathParams": {},
        "queryParams": {"a": ["1", "2"]},
        "rawBody": '{"x":1}',
    }
    ok = await core.invoke("steps/result_step.go", API, request)
    assert json.loads(ok.completed.payload_json) == {
        "status": 201,
        "body": {"body": {"x": 1}, "a": ["1", "2"], "h": "v"},
    }
    nothing = await core.invoke("steps/result_step.go", API, {**request, "queryParams": {"kind": "nil"}})
    assert nothing.WhichOneof("outcome") == "completed" and nothing.completed.payload_json == b""
    bad = await core.invoke("steps/result_step.go", API, {**request, "queryParams": {"kind": "func"}})
    assert (bad.failed.kind, bad.failed.error_type) == (pb.FAILURE_KIND_BAD_RESULT, "NotJsonError")
    not_object = await core.invoke("steps/result_step.go", API, raw=b"[1]")
    assert not_object.failed.kind == pb.FAILURE_KIND_BAD_PAYLOAD


async def test_the_manifest_is_motias_config_json(wire: Callable[..., Any]) -> None:
    core = await wire()
    loaded = await core.load("steps/result_step.go", "steps/emit_step.go")
    configs = {m.step_id: (json.loads(m.config_json), m.has_handler) for m in loaded.steps}
    assert configs["steps/result_step.go"] == (
        {
            "type": "api",
            "name": "Result",
            "method": "POST",
            "path": "/result",
            "emits": [{"topic": "a", "label": "when A", "conditional": True}, "b"],
            "virtualEmits": [],  # written empty by the author: kept
            "queryParams": [{"name": "q", "description": "a query"}],
            "infrastructure": {"handler": {"timeout": 5}},
        },
        True,
    )
    assert configs["steps/emit_step.go"][0] == {
        "type": "event",
        "name": "NoTopic",
        "subscribes": ["no.topic"],
        "emits": ["x"],
    }
    missing = await core.load("steps/nope_step.go")
    assert [(e.step_id, e.error_type) for e in missing.errors] == [("steps/nope_step.go", "RegistrationError")]
    assert "registers no step" in missing.errors[0].message
