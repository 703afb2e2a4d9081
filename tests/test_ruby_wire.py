"""The Ruby runner against a small in-test core (tests/ruby_wire.py): manifests and load errors,
config serialization, isolation of step files, hot reload, failure kinds, log fields, stream files
and the stream calls and triggers on the wire, the message limit, and the end of the stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from tests.ruby_wire import ACCESS, API, AUTH, EVENT, RUBY, _write, wire_cores

pytestmark = pytest.mark.skipif(RUBY is None, reason="ruby is not installed (apt-get install ruby ruby-grpc)")


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    async for start in wire_cores(tmp_path):
        yield start


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
    assert core.hello is not None
    assert list(core.hello.capabilities) == ["middleware", "streams", "cancel", "drain", "http_body_bytes"]
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
