"""The Ruby runner end to end.

* With the real core on tests/fixtures/ruby (Ruby API, event and cron steps, a Ruby step that
  raises, and a Python step in the same project): HTTP, events across languages in one trace,
  shared state, logs, concurrency, respawn after SIGKILL, no orphan after the core is SIGKILLed.
* Against a small in-test core (``WireCore``) for what the HTTP surface cannot show: load errors,
  config serialization, isolation of step files, hot reload, failure kinds, log fields, exit codes,
  stream files and the stream calls and triggers on the wire (tests/test_streams_ruby.py has streams
  with the real core).
* The runner's Ruby unit tests (runners/ruby/test).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import grpc.aio
import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from tests.conftest import ROOT, CoreProcess, copy_fixture, pid_alive

RUBY = shutil.which("ruby")
RUNNER = ROOT / "runners" / "ruby" / "bin" / "motia-ruby-runner"

pytestmark = pytest.mark.skipif(RUBY is None, reason="ruby is not installed (apt-get install ruby ruby-grpc)")


# -- with the real core -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ruby_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """One core serving tests/fixtures/ruby, shared by the read-only HTTP tests."""
    project = copy_fixture("ruby", tmp_path_factory.mktemp("ruby"))
    core = CoreProcess(project, env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    core.wait_ready()
    yield core
    core.stop()


def _step_logs(core: CoreProcess, trace_id: str) -> list[dict[str, Any]]:
    return core.find_logs(lambda d: d.get("traceId") == trace_id and d.get("source") == "step")


async def test_api_reads_path_query_body_and_headers_by_hash_and_dot(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{ruby_core.url}/rb/echo/42?q=hello",
            json={"text": "hi there", "nested": {"deep": [1, 2]}},
            headers={"X-Agent": "pytest"},
        ) as resp:
            assert resp.status == 200, await resp.text()
            doc = await resp.json()
            assert resp.headers["x-rb-middleware"] == "yes"  # set by a Ruby middleware after next_fn
            trace_header = resp.headers["x-motia-trace-id"]
    assert doc == {
        "id": "42",
        "id_dot": "42",
        "q": "hello",
        "q_dot": "hello",
        "text": "hi there",
        "text_dot": "hi there",
        "nested": [1, 2],
        "agent": "pytest",
        "stamped": True,
        "context_stamp": "middleware",
        "traceId": trace_header,
        "same_trace": True,
        "flows": ["ruby-e2e"],
    }


async def test_log_lines_carry_step_trace_id_and_language(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{ruby_core.url}/rb/echo/7", json={"text": "log me"}) as resp:
            assert resp.status == 200
            trace_id = resp.headers["x-motia-trace-id"]
    line = ruby_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("msg") == "echo from ruby")
    assert line["step"] == "RbEcho"
    assert line["language"] == "ruby"
    assert line["source"] == "step"
    assert line["level"] == "info"
    assert line["id"] == "7"
    assert line["answer"] == 42


async def test_events_flow_ruby_to_python_to_ruby_in_one_trace_with_shared_state(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{ruby_core.url}/rb/chain", json={"text": "across"}) as resp:
            assert resp.status == 202, await resp.text()
            started = await resp.json()
        trace_id, key = started["traceId"], started["key"]
        deadline = time.monotonic() + 15
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            # a Ruby API step reading what the Python step (and then a Ruby event step) wrote
            async with session.get(f"{ruby_core.url}/rb/chain/{key}") as resp:
                assert resp.status == 200
                doc = await resp.json()
            if doc["record"].get("done"):
                break
            await asyncio.sleep(0.05)
        assert doc["record"]["hops"] == ["ruby-api", "python", "ruby-event"], doc
        assert doc["record"]["python_saw"] == "ACROSS"
        assert doc["pythonSaw"] == "ACROSS"  # dot access on a value Python stored
        async with session.get(f"{ruby_core.url}/__motia/traces/{trace_id}") as resp:
            spans = (await resp.json())["spans"]
    assert [(s["step"], s["language"]) for s in spans] == [
        ("RbStartChain", "ruby"),
        ("PyRelay", "python"),
        ("RbFinishChain", "ruby"),
    ]
    assert all(s["status"] == "completed" for s in spans)
    ruby_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("msg") == "chain finished")
    seen = {(d["step"], d["language"]) for d in _step_logs(ruby_core, trace_id)}
    assert {("PyRelay", "python"), ("RbFinishChain", "ruby")} <= seen


async def test_a_raise_is_a_500_with_the_ruby_backtrace_in_the_log(ruby_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{ruby_core.url}/rb/boom", json={}) as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "Internal server error"}
            trace_id = resp.headers["x-motia-trace-id"]
    line = ruby_core.wait_for_log(lambda d: d.get("traceId") == trace_id and d.get("level") == "error")
    assert "kaboom from ruby" in line["msg"]
    assert "ArgumentError" in line["msg"]
    stack = line["stack"]
    assert "steps/api/boom_step.rb:7:in `explode'" in stack
    assert "steps/api/boom_step.rb:11:in `handler'" in stack
    assert "runners/ruby/lib" not in stack  # the runner's own frames are left out
    async with aiohttp.ClientSession() as session:  # and the runner is fine
        async with session.post(f"{ruby_core.url}/rb/echo/1", json={"text": "still here"}) as resp:
            assert resp.status == 200


async def test_six_field_cron_runs_the_ruby_step_every_second(ruby_core: CoreProcess) -> None:
    deadline = time.monotonic() + 15
    items: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{ruby_core.url}/__motia/state?groupId=rb-ticks") as resp:
                items = (await resp.json())["items"]
            if len(items) >= 2:
                break
            await asyncio.sleep(0.2)
    assert len(items) >= 2
    assert len({item["key"] for item in items}) == len(items)  # a new trace per tick


async def test_50_concurrent_calls_to_a_sleeping_ruby_step(ruby_core: CoreProcess) -> None:
    # Each call sleeps 50 ms in the runner. No timing is asserted (shared machine): the step itself
    # counts how many of its handlers run at once, and every answer must be right.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def call(n: int) -> tuple[int, dict[str, Any]]:
            async with session.post(f"{ruby_core.url}/rb/slow", json={"n": n}) as resp:
                return resp.status, await resp.json()

        results = await asyncio.gather(*(call(n) for n in range(50)))
    assert [status for status, _ in results] == [200] * 50
    assert [doc["n"] for _, doc in results] == list(range(50))
    assert len({doc["trace"] for _, doc in results}) == 50
    peak = max(doc["peak"] for _, doc in results)
    assert peak > 1, "the Ruby handlers never overlapped"


async def test_killed_ruby_runner_is_respawned(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ruby")
    old_pid = core.runner_pids()["ruby"]
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    status = 0
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.post(f"{core.url}/rb/echo/back", json={"text": "again"}) as resp:
                status = resp.status
                if status == 200:
                    assert (await resp.json())["id"] == "back"
                    break
            await asyncio.sleep(0.1)
    assert status == 200
    new_pid = core.runner_pids()["ruby"]
    assert new_pid != old_pid
    assert not pid_alive(old_pid)
    core.wait_for_log(lambda d: "restarting the ruby runner" in d.get("msg", ""))


def test_no_orphan_ruby_runner_after_the_core_is_killed(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ruby")
    pids = core.runner_pids()
    assert set(pids) == {"ruby", "python"}
    core.proc.send_signal(signal.SIGKILL)
    core.proc.wait(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pids["ruby"]):
        time.sleep(0.05)
    assert not pid_alive(pids["ruby"]), f"orphan ruby runner {pids['ruby']}"


def test_graceful_stop_drains_the_ruby_runner(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("ruby")
    pid = core.runner_pids()["ruby"]
    assert core.stop() == 0
    assert not pid_alive(pid)
    assert not core.find_logs(lambda d: "SIGTERM" in d.get("msg", "")), "the runner needed a SIGTERM"


# -- against an in-test core --------------------------------------------------------------------


class WireCore:
    """The core's end of RunnerService.Connect for one Ruby runner: answers calls from a dict."""

    def __init__(self, tmp_path: Path, project: Path, max_message_bytes: int = 0) -> None:
        self.socket = tmp_path / "core.sock"
        self.project = project
        self.max_message_bytes = max_message_bytes
        self.secret = uuid.uuid4().hex
        self.state: dict[tuple[str, str], bytes] = {}
        self.emits: list[tuple[str, Any]] = []
        self.logs: list[tuple[int, pb.Log]] = []
        self.call_errors: dict[str, pb.CallError] = {}  # op -> the error to answer with
        self.stream_calls: list[tuple[int, str, Any]] = []  # (request_id, op, the op's message)
        self.hello: pb.Hello | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.end_stream = asyncio.Event()  # set: the core ends the stream (status OK)
        self.stream_done = asyncio.Event()
        self._server: Any = None
        self._out: asyncio.Queue[pb.CoreMessage] = asyncio.Queue()
        self._waiting: dict[Any, asyncio.Future[Any]] = {}
        self._next_id = 0

    async def start(self) -> None:
        self._server = grpc.aio.server()
        handler = grpc.stream_stream_rpc_method_handler(
            self._connect,
            request_deserializer=pb.RunnerFrame.FromString,
            response_serializer=pb.CoreFrame.SerializeToString,
        )
        generic = grpc.method_handlers_generic_handler("motia.runner.v1.RunnerService", {"Connect": handler})
        self._server.add_generic_rpc_handlers((generic,))
        self._server.add_insecure_port(f"unix:{self.socket}")
        await self._server.start()
        connected = self._expect("welcomed")
        self.proc = await asyncio.create_subprocess_exec(
            str(RUBY),
            str(RUNNER),
            cwd=self.project,
            env={
                **os.environ,
                "MOTIA_CORE_ADDRESS": f"unix:{self.socket}",
                "MOTIA_RUNNER_SECRET": self.secret,
                "MOTIA_PROJECT_DIR": str(self.project),
                "MOTIA_RUNNER_SLOTS": "64",
            },
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.wait_for(connected, 15)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._server is not None:
            await self._server.stop(0)

    async def exit_code(self, timeout: float = 10) -> tuple[int, str]:
        assert self.proc is not None and self.proc.stderr is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        return code, (await self.proc.stderr.read()).decode()

    # -- driving -----------------------------------------------------------------------------------

    def send(self, **fields: Any) -> None:
        self._out.put_nowait(pb.CoreMessage(**fields))

    def _expect(self, key: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    async def load(self, *relative_paths: str) -> pb.StepsLoaded:
        self._next_id += 1
        files = [pb.StepFile(step_id=r, path=str(self.project / r), relative_path=r) for r in relative_paths]
        future = self._expect(("loaded", self._next_id))
        self.send(load_steps=pb.LoadSteps(request_id=self._next_id, files=files))
        result: pb.StepsLoaded = await asyncio.wait_for(future, 10)
        return result

    async def invoke(
        self, step_id: str, trigger: int, payload: Any = None, raw: bytes | None = None
    ) -> pb.InvocationResult:
        invocation_id = uuid.uuid4().hex
        future = self._expect(("result", invocation_id))
        if raw is None:
            raw = b"" if payload is None else json.dumps(payload).encode()
        self.send(
            start=pb.StartInvocation(
                invocation_id=invocation_id,
                step_id=step_id,
                attempt=1,
                fencing_token=7,
                trace_id="T-1",
                flows=["wire"],
                trigger=trigger,  # type: ignore[arg-type]
                payload_json=raw,
            )
        )
        result: pb.InvocationResult = await asyncio.wait_for(future, 10)
        assert result.fencing_token == 7
        return result

    # -- the stream --------------------------------------------------------------------------------

    async def _connect(self, request_iterator: Any, context: Any) -> None:
        writer = asyncio.ensure_future(self._write(context))
        reader = asyncio.ensure_future(self._read(context))
        ended = asyncio.ensure_future(self.end_stream.wait())
        await asyncio.wait({reader, ended}, return_when=asyncio.FIRST_COMPLETED)
        for task in (writer, reader, ended):
            task.cancel()
        await asyncio.gather(writer, reader, ended, return_exceptions=True)
        self.stream_done.set()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the runner stream ended"))

    async def _read(self, context: Any) -> None:
        while (frame := await context.read()) is not grpc.aio.EOF:
            for message in frame.messages:
                self._on_message(message)

    async def _write(self, context: Any) -> None:
        while True:
            batch = [await self._out.get()]
            while not self._out.empty():
                batch.append(self._out.get_nowait())
            await context.write(pb.CoreFrame(messages=batch))

    def _resolve(self, key: Any, value: Any) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(value)

    def _on_message(self, message: pb.RunnerMessage) -> None:
        kind = message.WhichOneof("kind")
        if kind == "hello":
            self.hello = message.hello
            welcome = pb.Welcome(
                protocol_version=1,
                session_id="wire",
                max_message_bytes=self.max_message_bytes,
                project_dir=str(self.project),
            )
            self.send(welcome=welcome)
            self._resolve("welcomed", None)
        elif kind == "steps_loaded":
            self._resolve(("loaded", message.steps_loaded.request_id), message.steps_loaded)
        elif kind == "result":
            self._resolve(("result", message.result.invocation_id), message.result)
        elif kind == "pong":
            self._resolve(("pong", message.pong.nonce), None)
        elif kind == "call":
            self._on_call(message.call)

    def _on_call(self, call: pb.Call) -> None:
        op = call.WhichOneof("op")
        if op == "log":
            self.logs.append((call.request_id, call.log))
            return
        error = self.call_errors.get(op or "")
        if error is not None:
            self.send(call_reply=pb.CallReply(request_id=call.request_id, error=error))
            return
        value = b"null"
        if op == "emit":
            self.emits.append((call.emit.topic, json.loads(call.emit.data_json)))
        elif op == "state_get":
            value = self.state.get((call.state_get.group_id, call.state_get.key), b"null")
        elif op == "state_set":
            self.state[(call.state_set.group_id, call.state_set.key)] = value = call.state_set.value_json
        elif op is not None and op.startswith("stream_"):
            body = getattr(call, op)
            self.stream_calls.append((call.request_id, op, body))
            if op == "stream_get":
                value = json.dumps({"text": "stored", "id": body.id}).encode()
            elif op == "stream_set":
                value = json.dumps({**json.loads(body.data_json), "id": body.id}).encode()
            elif op == "stream_get_group":
                value = b'[{"text":"one","id":"1"},{"text":"two","id":"2"}]'
        self.send(call_reply=pb.CallReply(request_id=call.request_id, value_json=value))


def _write(project: Path, relative: str, source: str) -> None:
    path = project / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    cores: list[WireCore] = []

    async def start(files: dict[str, str], max_message_bytes: int = 0) -> WireCore:
        project = tmp_path / f"project{len(cores)}"
        for relative, source in files.items():
            _write(project, relative, source)
        core = WireCore(tmp_path, project, max_message_bytes)
        cores.append(core)
        await core.start()
        return core

    yield start
    for core in cores:
        await core.stop()


API, EVENT, CRON = pb.TRIGGER_API, pb.TRIGGER_EVENT, pb.TRIGGER_CRON
ACCESS, AUTH = pb.TRIGGER_STREAM_ACCESS, pb.TRIGGER_STREAM_AUTH

GOOD_STEP = """
def check(req, ctx, next_fn) = next_fn.call

def config
  {
    type: :api, name: "Good", method: "POST", path: "/good", emits: [],
    middleware: [method(:check), ->(req, ctx, n) { n.call }],
    responseSchema: { 200 => { type: "object" } },
    canAccess: proc { true }
  }
end

def handler(req, ctx) = { status: 200, body: { echo: req.body } }
"""


async def test_manifest_and_load_errors_name_the_file_line_and_field(wire: Callable[..., Any]) -> None:
    core = await wire(
        {
            "steps/good_step.rb": GOOD_STEP,
            "steps/noop_step.rb": 'def config = { "type" => "noop", "name" => "N", "virtualEmits" => [] }\n',
            "steps/no_config_step.rb": "def handler(input, ctx) = nil\n",
            "steps/raises_step.rb": "# a comment\n\nraise ArgumentError, 'no database configured'\n",
            "steps/missing_step.rb": "require 'a_gem_that_is_not_installed'\n",
            "steps/bad_json_step.rb": "def config = { 'type' => 'event', 'infra' => { 'when' => Time.now } }\n",
            "steps/not_hash_step.rb": "def config = [1, 2]\n",
            "steps/exits_step.rb": "exit 3\n",
            "steps/syntax_step.rb": "def config\n  { 'type' => 'event'\nend\n",
        }
    )
    assert core.hello is not None
    assert core.hello.language == "ruby"
    assert core.hello.runtime_version.startswith("ruby 3.")
    assert core.hello.concurrency_slots == 64
    assert core.hello.protocol_min == core.hello.protocol_max == 1
    assert core.hello.secret == core.secret
    assert core.proc is not None and core.hello.pid == core.proc.pid
    loaded = await core.load(
        "steps/good_step.rb",
        "steps/noop_step.rb",
        "steps/no_config_step.rb",
        "steps/raises_step.rb",
        "steps/missing_step.rb",
        "steps/bad_json_step.rb",
        "steps/not_hash_step.rb",
        "steps/exits_step.rb",
        "steps/syntax_step.rb",
    )
    steps = {s.step_id: s for s in loaded.steps}
    assert set(steps) == {"steps/good_step.rb", "steps/noop_step.rb"}
    good = steps["steps/good_step.rb"]
    assert good.has_handler and good.middleware_count == 2
    assert json.loads(good.config_json) == {
        "type": "api",
        "name": "Good",
        "method": "POST",
        "path": "/good",
        "emits": [],
        "middleware": [{"$function": "check"}, {"$function": "anonymous"}],
        "responseSchema": {"200": {"type": "object"}},
        "canAccess": {"$function": "anonymous"},
    }
    assert not steps["steps/noop_step.rb"].has_handler
    errors = {e.step_id: e for e in loaded.errors}
    assert errors["steps/no_config_step.rb"].error_type == "ConfigError"
    assert errors["steps/no_config_step.rb"].message.startswith("no `config` export")
    raises = errors["steps/raises_step.rb"]
    assert (raises.error_type, raises.message) == ("ArgumentError", "no database configured (steps/raises_step.rb:3)")
    assert "raises_step.rb:3" in raises.stack
    assert errors["steps/missing_step.rb"].error_type == "LoadError"
    assert "a_gem_that_is_not_installed (steps/missing_step.rb:1)" in errors["steps/missing_step.rb"].message
    bad_json = errors["steps/bad_json_step.rb"]
    assert bad_json.error_type == "ConfigError"
    assert bad_json.message == "config.infra.when: Time is not JSON (steps/bad_json_step.rb:1)"
    assert "must return a Hash, got Array" in errors["steps/not_hash_step.rb"].message
    assert errors["steps/exits_step.rb"].error_type == "SystemExit"
    syntax = errors["steps/syntax_step.rb"]
    assert syntax.error_type == "SyntaxError"
    assert syntax.message.startswith("steps/syntax_step.rb:")
    # the runner is unharmed
    result = await core.invoke("steps/good_step.rb", API, {"body": {"a": 1}, "headers": {}})
    assert json.loads(result.completed.payload_json) == {"status": 200, "body": {"echo": {"a": 1}}}


async def test_step_files_are_isolated_and_hot_reload_replaces_them(wire: Callable[..., Any]) -> None:
    helper = "module Version\n  def self.name_of = 'helper v1'\nend\n"
    one = """
require_relative "lib/version"
LABEL = "one"
@loaded_at_top = "top-level ivar"
def config = { "type" => "event", "name" => "One", "subscribes" => ["a"], "emits" => [] }
def label = LABEL
def handler(input, ctx) = [label, @loaded_at_top, Version.name_of]
"""
    two = """
LABEL = "two"
def config = { "type" => "event", "name" => "Two", "subscribes" => ["a"], "emits" => [] }
def label = LABEL
def handler(input, ctx) = label
"""
    core = await wire({"steps/one_step.rb": one, "steps/two_step.rb": two, "steps/lib/version.rb": helper})
    await core.load("steps/one_step.rb", "steps/two_step.rb")
    first = await core.invoke("steps/one_step.rb", EVENT, {})
    assert json.loads(first.completed.payload_json) == ["one", "top-level ivar", "helper v1"]
    second = await core.invoke("steps/two_step.rb", EVENT, {})
    assert json.loads(second.completed.payload_json) == "two"

    await asyncio.sleep(0.01)  # a different mtime for the edited helper
    _write(core.project, "steps/lib/version.rb", helper.replace("v1", "v2") + "# edited\n")
    _write(core.project, "steps/one_step.rb", one.replace('"one"', '"one again"'))
    again = await core.load("steps/one_step.rb")
    assert not again.errors
    third = await core.invoke("steps/one_step.rb", EVENT, {})
    assert json.loads(third.completed.payload_json) == ["one again", "top-level ivar", "helper v2"]

    _write(core.project, "steps/two_step.rb", "def config = {\n")
    broken = await core.load("steps/two_step.rb")
    assert broken.errors[0].error_type == "SyntaxError"
    gone = await core.invoke("steps/two_step.rb", EVENT, {})
    assert gone.failed.kind == pb.FAILURE_KIND_UNKNOWN_STEP


FAILURES_STEP = """
def config = { "type" => "event", "name" => "Failures", "subscribes" => ["x"], "emits" => ["out"] }

def handler(input, ctx)
  case input["mode"]
  when "nil" then nil
  when "time" then { "at" => Time.now, "bad" => { "list" => [1, Object.new] } }
  when "exit" then exit(4)
  when "retry"
    error = RuntimeError.new("later please")
    error.define_singleton_method(:retry_after_ms) { 1500 }
    error.define_singleton_method(:non_retryable) { true }
    raise error
  when "cause"
    begin
      Integer("nope")
    rescue ArgumentError
      raise "wrapped"
    end
  when "rejected"
    begin
      ctx.emit({ "topic" => "out", "data" => 1 })
    rescue Motia::CallError => e
      { "code" => e.code.to_s, "message" => e.message }
    end
  when "logs"
    ctx.logger.info("plain")
    ctx.logger.warn("list", [1, 2])
    ctx.logger.error("failed", { "error" => (raise "inner" rescue $!), "n" => 1 })
    ctx.logger.debug(:symbol_message, "text")
    "logged"
  when "streams"
    ctx.streams.todo.get("g", "1")
  end
end
"""


async def test_failure_kinds_and_the_runner_survives_them(wire: Callable[..., Any]) -> None:
    core = await wire({"steps/failures_step.rb": FAILURES_STEP}, max_message_bytes=4096)
    await core.load("steps/failures_step.rb")
    step = "steps/failures_step.rb"

    nothing = await core.invoke(step, EVENT, {"mode": "nil"})
    assert nothing.WhichOneof("outcome") == "completed" and nothing.completed.payload_json == b""

    not_json = await core.invoke(step, EVENT, {"mode": "time"})
    assert not_json.failed.kind == pb.FAILURE_KIND_BAD_RESULT
    assert "result.bad.list[1]: Object is not JSON" in not_json.failed.message

    exited = await core.invoke(step, EVENT, {"mode": "exit"})
    assert (exited.failed.kind, exited.failed.error_type) == (pb.FAILURE_KIND_HANDLER_ERROR, "SystemExit")

    retry = await core.invoke(step, EVENT, {"mode": "retry"})
    assert retry.failed.retry_after_ms == 1500 and retry.failed.non_retryable

    caused = await core.invoke(step, EVENT, {"mode": "cause"})
    assert caused.failed.message == "wrapped"
    assert "caused by: " in caused.failed.stack and "invalid value for Integer()" in caused.failed.stack

    bad_payload = await core.invoke(step, EVENT, raw=b"{nope")
    assert bad_payload.failed.kind == pb.FAILURE_KIND_BAD_PAYLOAD
    api_not_object = await core.invoke(step, API, raw=b"[1]")
    assert api_not_object.failed.kind == pb.FAILURE_KIND_BAD_PAYLOAD
    unknown = await core.invoke("steps/nope_step.rb", EVENT, {})
    assert unknown.failed.kind == pb.FAILURE_KIND_UNKNOWN_STEP

    core.call_errors["emit"] = pb.CallError(code=pb.CallError.CODE_REJECTED, message="topic out is not allowed")
    rejected = await core.invoke(step, EVENT, {"mode": "rejected"})
    assert json.loads(rejected.completed.payload_json) == {
        "code": "rejected",
        "message": "emit: topic out is not allowed",
    }

    core.call_errors["stream_get"] = pb.CallError(
        code=pb.CallError.CODE_INVALID_ARGUMENT,
        message="stream 'todo' is not declared in this project (the project declares no streams)",
    )
    streams = await core.invoke(step, EVENT, {"mode": "streams"})
    assert streams.failed.error_type == "Motia::CallError"
    assert streams.failed.message == (
        "streams.get: stream 'todo' is not declared in this project (the project declares no streams)"
    )

    logged = await core.invoke(step, EVENT, {"mode": "logs"})
    assert json.loads(logged.completed.payload_json) == "logged"
    assert [request_id for request_id, _ in core.logs] == [0, 0, 0, 0]
    levels = [pb.Log.Level.Name(log.level) for _, log in core.logs]
    assert levels == ["LEVEL_INFO", "LEVEL_WARN", "LEVEL_ERROR", "LEVEL_DEBUG"]
    assert core.logs[0][1].fields_json == b""
    fields: list[Any] = [json.loads(log.fields_json or b"{}") for _, log in core.logs]
    assert fields[1] == {"data": [1, 2]}
    assert fields[2]["n"] == 1 and fields[2]["error"]["message"] == "inner"
    assert fields[2]["error"]["name"] == "RuntimeError" and "failures_step.rb" in fields[2]["error"]["stack"]
    assert core.logs[3][1].message == "symbol_message" and fields[3] == {"data": "text"}
    assert all(log.time_unix_ms > 0 for _, log in core.logs)


STREAM_FILES = {
    "steps/streams/todo_stream.rb": """
def config = { "name" => "todo", "schema" => { "type" => "object" }, "baseConfig" => { "storageType" => "default" } }
""",
    "steps/streams/guarded.stream.rb": """
ANSWERS = { "yes" => true, "no" => false, "nil" => nil, "zero" => 0, "empty" => "", "list" => [] }.freeze

def config
  {
    name: "guarded", schema: { type: "object" }, baseConfig: { storageType: "default" },
    canAccess: ->(subscription, auth_context) {
      raise KeyError, "no answer for #{subscription.groupId}" unless ANSWERS.key?(subscription.groupId)
      return auth_context&.userId == subscription.id if subscription.groupId == "yes" && subscription.id

      ANSWERS[subscription.groupId]
    }
  }
end
""",
    "steps/stream-auth.rb": """
def config = { "name" => "StreamAuth" }

def handler(request, ctx)
  raise "invalid token" if request.authToken == "bad"
  return nil if request.authToken.nil?

  { "userId" => request.authToken, "url" => request.url, "trace" => ctx.trace_id }
end
""",
    "steps/writer_step.rb": """
def config = { "type" => "event", "name" => "Writer", "subscribes" => ["w"], "emits" => [] }

def handler(input, ctx)
  todo = ctx.streams.todo
  {
    "get" => todo.get("inbox", 1),
    "set" => todo.set(:inbox, "t1", { text: "hi", "id" => "ignored" }),
    "delete" => todo.delete("inbox", "t1"),
    "group" => ctx.streams["todo"].getGroup("inbox").map(&:text),
    "send" => todo.send({ groupId: "inbox" }, { type: "ping", data: { n: 1 } }),
    "sendItem" => todo.send({ "groupId" => "inbox", "id" => "t1" }, { "type" => :poke })
  }
end
""",
}


async def test_stream_files_load_without_a_handler_and_their_triggers_run(wire: Callable[..., Any]) -> None:
    core = await wire(STREAM_FILES)
    assert core.hello is not None and list(core.hello.capabilities) == ["middleware", "streams"]
    loaded = await core.load(*STREAM_FILES)
    assert not loaded.errors
    steps = {s.step_id: s for s in loaded.steps}
    assert not steps["steps/streams/todo_stream.rb"].has_handler
    guarded = steps["steps/streams/guarded.stream.rb"]
    assert not guarded.has_handler
    assert json.loads(guarded.config_json)["canAccess"] == {"$function": "anonymous"}
    assert steps["steps/stream-auth.rb"].has_handler

    async def access(group_id: str, item_id: str | None = None, auth: Any = None) -> pb.InvocationResult:
        subscription = {"groupId": group_id} if item_id is None else {"groupId": group_id, "id": item_id}
        payload = {"subscription": subscription, "authContext": auth}
        return await core.invoke("steps/streams/guarded.stream.rb", ACCESS, payload)

    # Ruby truthiness: only nil and false deny
    for group_id, allowed in [("yes", True), ("no", False), ("nil", False), ("zero", True), ("empty", True)]:
        result = await access(group_id)
        assert result.completed.payload_json == (b"true" if allowed else b"false"), group_id
    assert (await access("list")).completed.payload_json == b"true"
    assert (await access("yes", "u1", {"userId": "u1"})).completed.payload_json == b"true"
    assert (await access("yes", "u1", {"userId": "u2"})).completed.payload_json == b"false"
    assert (await access("yes", "u1", None)).completed.payload_json == b"false"
    raised = await access("unknown")
    assert (raised.failed.kind, raised.failed.error_type) == (pb.FAILURE_KIND_HANDLER_ERROR, "KeyError")
    assert "no answer for unknown" in raised.failed.message and "guarded.stream.rb" in raised.failed.stack
    no_can_access = await core.invoke("steps/streams/todo_stream.rb", ACCESS, {"subscription": {"groupId": "g"}})
    assert (no_can_access.failed.kind, no_can_access.failed.error_type) == (
        pb.FAILURE_KIND_HANDLER_ERROR,
        "NoCanAccess",
    )
    bad_payload = await core.invoke("steps/streams/guarded.stream.rb", ACCESS, [1])
    assert bad_payload.failed.kind == pb.FAILURE_KIND_BAD_PAYLOAD

    auth = "steps/stream-auth.rb"
    request = {"headers": {"host": "x"}, "url": "/?authToken=u7", "authToken": "u7"}
    authed = await core.invoke(auth, AUTH, request)
    assert json.loads(authed.completed.payload_json) == {"userId": "u7", "url": "/?authToken=u7", "trace": "T-1"}
    anonymous = await core.invoke(auth, AUTH, {"headers": {}, "url": "/", "authToken": None})
    assert anonymous.completed.payload_json == b""  # nil: the core reads null
    rejected = await core.invoke(auth, AUTH, {"headers": {}, "url": "/", "authToken": "bad"})
    assert (rejected.failed.kind, rejected.failed.message) == (pb.FAILURE_KIND_HANDLER_ERROR, "invalid token")
    no_handler = await core.invoke("steps/streams/todo_stream.rb", AUTH, {})
    assert no_handler.failed.error_type == "NoHandler"


async def test_stream_calls_on_the_wire(wire: Callable[..., Any]) -> None:
    core = await wire(STREAM_FILES)
    await core.load("steps/writer_step.rb")
    result = await core.invoke("steps/writer_step.rb", EVENT, {})
    assert json.loads(result.completed.payload_json) == {
        "get": {"text": "stored", "id": "1"},
        "set": {"text": "hi", "id": "t1"},
        "delete": None,
        "group": ["one", "two"],
        "send": None,
        "sendItem": None,
    }
    calls = [(op, body) for _, op, body in core.stream_calls]
    assert all(request_id > 0 for request_id, _, _ in core.stream_calls)  # every stream call wants a reply
    assert [op for op, _ in calls] == [
        "stream_get",
        "stream_set",
        "stream_delete",
        "stream_get_group",
        "stream_send",
        "stream_send",
    ]
    assert calls[0][1] == pb.StreamGet(stream="todo", group_id="inbox", id="1")
    stream_set = calls[1][1]
    assert (stream_set.stream, stream_set.group_id, stream_set.id) == ("todo", "inbox", "t1")
    assert json.loads(stream_set.data_json) == {"text": "hi", "id": "ignored"}
    assert calls[2][1] == pb.StreamDelete(stream="todo", group_id="inbox", id="t1")
    assert calls[3][1] == pb.StreamGetGroup(stream="todo", group_id="inbox")
    group_send, item_send = calls[4][1], calls[5][1]
    assert (group_send.stream, group_send.group_id, group_send.id, group_send.type) == ("todo", "inbox", "", "ping")
    assert json.loads(group_send.data_json) == {"n": 1}
    assert (item_send.id, item_send.type, item_send.data_json) == ("t1", "poke", b"null")


async def test_results_over_the_message_limit_are_bad_result(wire: Callable[..., Any]) -> None:
    big = """
def config = { "type" => "api", "name" => "Big", "method" => "POST", "path" => "/big", "emits" => [] }
def handler(req, ctx) = { "status" => 200, "body" => { "data" => "x" * req.body["size"] } }
"""
    core = await wire({"steps/big_step.rb": big}, max_message_bytes=64 * 1024)
    await core.load("steps/big_step.rb")
    small = await core.invoke("steps/big_step.rb", API, {"body": {"size": 1000}})
    assert len(json.loads(small.completed.payload_json)["body"]["data"]) == 1000
    large = await core.invoke("steps/big_step.rb", API, {"body": {"size": 200_000}})
    assert large.failed.kind == pb.FAILURE_KIND_BAD_RESULT
    assert "200" in large.failed.message and "65536-byte message limit" in large.failed.message
    after = await core.invoke("steps/big_step.rb", API, {"body": {"size": 3}})  # still healthy
    assert json.loads(after.completed.payload_json)["body"]["data"] == "xxx"


async def test_stream_ended_by_the_core_without_shutdown_exits_1(wire: Callable[..., Any]) -> None:
    core = await wire({"steps/noop_step.rb": 'def config = { "type" => "noop", "name" => "N" }\n'})
    await core.load("steps/noop_step.rb")
    core.end_stream.set()  # the Connect handler returns: the stream ends with status OK
    code, stderr = await core.exit_code()
    assert code == 1
    assert "closed the stream without a Shutdown" in stderr


async def test_shutdown_drains_in_flight_work_and_exits_0(wire: Callable[..., Any]) -> None:
    slow = """
def config = { "type" => "event", "name" => "Slow", "subscribes" => ["s"], "emits" => [] }
def handler(input, ctx)
  sleep(0.3)
  ctx.state.set("slow", "done", true) # a call while draining still gets its reply
end
"""
    core = await wire({"steps/slow_step.rb": slow})
    await core.load("steps/slow_step.rb")
    in_flight = asyncio.ensure_future(core.invoke("steps/slow_step.rb", EVENT, {}))
    await asyncio.sleep(0.05)
    core.send(shutdown=pb.Shutdown(grace_ms=5000, reason="test"))
    late = await core.invoke("steps/slow_step.rb", EVENT, {})
    assert late.failed.kind == pb.FAILURE_KIND_SHUTTING_DOWN
    result = await in_flight
    assert result.completed.payload_json == b"true"
    await asyncio.wait_for(core.stream_done.wait(), 10)  # the runner half-closed
    code, _ = await core.exit_code()
    assert code == 0


async def test_stdin_eof_exits_1_at_once_even_while_a_handler_runs(wire: Callable[..., Any]) -> None:
    busy = """
def config = { "type" => "event", "name" => "Busy", "subscribes" => ["b"], "emits" => [] }
def handler(input, ctx) = loop { 1 + 1 }
"""
    core = await wire({"steps/busy_step.rb": busy})
    await core.load("steps/busy_step.rb")
    pending = asyncio.ensure_future(core.invoke("steps/busy_step.rb", EVENT, {}))
    await asyncio.sleep(0.1)
    assert core.proc is not None and core.proc.stdin is not None
    core.proc.stdin.close()
    code, stderr = await core.exit_code()
    assert code == 1
    assert "stdin closed" in stderr
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)


def test_missing_core_address_exits_3_and_says_why() -> None:
    result = subprocess.run(
        [str(RUBY), str(RUNNER)],
        env={**os.environ, "MOTIA_CORE_ADDRESS": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3  # no address: the environment is unusable
    assert "MOTIA_CORE_ADDRESS is not set" in result.stderr


# -- the runner's Ruby unit tests ---------------------------------------------------------------


def test_ruby_unit_tests() -> None:
    result = subprocess.run(
        [str(RUBY), str(ROOT / "runners" / "ruby" / "test" / "run.rb")],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failures, 0 errors" in result.stdout
