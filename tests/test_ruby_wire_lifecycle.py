"""The Ruby runner's lifecycle against a small in-test core (tests/ruby_wire.py): the Shutdown
drain, Cancel, the SIGTERM drain, retry hints (Motia::RetryAfter, Motia::NonRetryable), stdin EOF
and exit codes; and the runner's Ruby unit tests (runners/ruby/test). tests/test_timeouts_drain.py
has Cancel and the SIGTERM drain with the real core.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from tests.conftest import ROOT
from tests.ruby_wire import EVENT, RUBY, RUNNER, wire_cores

pytestmark = pytest.mark.skipif(RUBY is None, reason="ruby is not installed (apt-get install ruby ruby-grpc)")


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    async for start in wire_cores(tmp_path):
        yield start


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


CANCEL_STEPS = {
    # Blocked in sleep: the runner raises Motia::Cancelled into its thread.
    "steps/sleepy_step.rb": """
def config = { "type" => "event", "name" => "Sleepy", "subscribes" => ["s"], "emits" => [] }

def handler(input, ctx)
  ctx.logger.info("started", { "n" => input["n"] })
  begin
    sleep(3600)
  rescue => e # a bare rescue does not swallow Motia::Cancelled
    ctx.logger.info("swallowed", { "error" => e.class.name })
  ensure
    call = begin
      ctx.state.set("after", "cancel", true)
      "no error"
    rescue Motia::Cancelled => e
      "#{e.class.name}: #{e.reason}"
    end
    ctx.logger.info("cleaned up", { "n" => input["n"], "cancelled" => ctx.cancelled?,
                                    "reason" => ctx.cancel_reason, "call" => call })
  end
  { "never" => "sent" }
end
""",
    # Blocked in a context call the core never answers (state.get on the "gate" group).
    "steps/waiting_step.rb": """
def config = { "type" => "event", "name" => "Waiting", "subscribes" => ["w"], "emits" => [] }

def handler(input, ctx)
  ctx.logger.info("started", { "n" => input["n"] })
  ctx.state.get("gate", "open")
ensure
  ctx.logger.info("cleaned up", { "n" => input["n"], "cancelled" => ctx.cancelled?, "reason" => ctx.cancel_reason })
end
""",
    # Computing: never interrupted, it stops because it checks ctx.cancelled?.
    "steps/busy_step.rb": """
def config = { "type" => "event", "name" => "Busy", "subscribes" => ["b"], "emits" => [] }

def handler(input, ctx)
  ctx.logger.info("started", { "n" => input["n"] })
  spins = 0
  spins += 1 until ctx.cancelled?
  ctx.logger.info("cleaned up", { "n" => input["n"], "cancelled" => true, "reason" => ctx.cancel_reason })
  { "spins" => spins }
end
""",
    "steps/quick_step.rb": """
def config = { "type" => "event", "name" => "Quick", "subscribes" => ["q"], "emits" => [] }
def handler(input, ctx) = { "echo" => input }
""",
}


async def test_cancel_stops_the_handler_confirms_without_a_result_and_frees_its_thread(
    wire: Callable[..., Any],
) -> None:
    # One handler thread: every invocation after a cancelled one runs only if its thread came back.
    core = await wire(CANCEL_STEPS, env={"MOTIA_RUNNER_THREADS": "1"})
    await core.load(*CANCEL_STEPS)
    cancelled_ids: list[str] = []
    cases = [
        ("sleepy", pb.Cancel.REASON_TIMEOUT, "timeout"),
        ("waiting", pb.Cancel.REASON_TIMEOUT, "timeout"),
        ("busy", pb.Cancel.REASON_SHUTDOWN, "shutdown"),
    ]
    for n, (step, reason, reason_text) in enumerate(cases):
        invocation_id, result = core.start_invocation(f"steps/{step}_step.rb", EVENT, {"n": n})
        await core.wait_for(lambda n=n: len(core.log_fields("started")) == n + 1, f"{step} to start")
        if step == "waiting":
            await core.wait_for(lambda: len(core.held) == 1, "the call to be sent")
        confirmed = await core.cancel(invocation_id, reason)
        assert (confirmed.invocation_id, confirmed.fencing_token) == (invocation_id, 7)
        kinds = core.kinds()
        # the handler had stopped (its ensure ran) before the runner confirmed; no result, ever
        assert kinds.index(f"cancelled:{invocation_id}") > max(i for i, k in enumerate(kinds) if k == "log:cleaned up")
        assert f"result:{invocation_id}" not in kinds and not result.done()
        result.cancel()
        cleaned = core.log_fields("cleaned up")[n]
        assert (cleaned["n"], cleaned["cancelled"], cleaned["reason"]) == (n, True, reason_text)
        cancelled_ids.append(invocation_id)
    # after the cancel, a call raised Motia::Cancelled instead of reaching the core
    assert core.log_fields("cleaned up")[0]["call"] == "Motia::Cancelled: timeout"
    assert ("after", "cancel") not in core.state
    assert not core.log_fields("swallowed")

    # A cancel for an invocation no worker has picked up yet is confirmed at once.
    sleeping, sleeping_result = core.start_invocation("steps/sleepy_step.rb", EVENT, {"n": 3})
    await core.wait_for(lambda: len(core.log_fields("started")) == 4, "the sleeper to start")
    queued, queued_result = core.start_invocation("steps/quick_step.rb", EVENT, {"queued": True})
    confirmed = await core.cancel(queued)
    assert confirmed.fencing_token == 7
    assert len(core.log_fields("cleaned up")) == 3  # the sleeper still holds the only thread
    await core.cancel(sleeping)
    for future in (sleeping_result, queued_result):
        assert not future.done()
        future.cancel()
    cancelled_ids += [sleeping, queued]

    # The thread is free: the next invocation runs.
    after = await core.invoke("steps/quick_step.rb", EVENT, {"after": "cancel"})
    assert json.loads(after.completed.payload_json) == {"echo": {"after": "cancel"}}
    # A Cancel for an unknown (or finished) invocation is answered at once.
    unknown = await core.cancel("no-such-invocation")
    assert (unknown.invocation_id, unknown.fencing_token) == ("no-such-invocation", 0)
    finished = await core.cancel(after.invocation_id)
    assert finished.invocation_id == after.invocation_id
    results = [k for k in core.kinds() if k.startswith("result:")]
    assert results == [f"result:{after.invocation_id}"]  # none for any cancelled invocation
    assert not set(cancelled_ids) & {k.split(":", 1)[1] for k in results}


GATED_STEP = """
def config = { "type" => "event", "name" => "Gated", "subscribes" => ["g"], "emits" => [] }

def handler(input, ctx)
  ctx.logger.info("started", { "n" => input["n"] })
  ctx.state.get("gate", "open") # answered by the test, once the runner is draining
  { "n" => input["n"] }
end
"""


async def test_sigterm_drains_in_flight_work_refuses_new_work_and_exits_0(wire: Callable[..., Any]) -> None:
    core = await wire({"steps/gated_step.rb": GATED_STEP})
    await core.load("steps/gated_step.rb")
    first, first_result = core.start_invocation("steps/gated_step.rb", EVENT, {"n": 1})
    second, second_result = core.start_invocation("steps/gated_step.rb", EVENT, {"n": 2})
    await core.wait_for(lambda: len(core.held) == 2, "both handlers to wait at the gate")
    assert core.proc is not None
    core.proc.send_signal(signal.SIGTERM)
    await core.wait_for(lambda: "draining" in core.kinds(), "Draining")
    draining = next(message for kind, message in core.received if kind == "draining")
    assert draining.reason == "SIGTERM"
    refused = await core.invoke("steps/gated_step.rb", EVENT, {"n": 3})
    assert (refused.failed.kind, refused.failed.error_type) == (pb.FAILURE_KIND_SHUTTING_DOWN, "ShuttingDown")
    # Neither a second SIGTERM nor the core's Shutdown (with a grace far too short) changes the drain.
    core.proc.send_signal(signal.SIGTERM)
    core.send(shutdown=pb.Shutdown(grace_ms=1, reason="test"))
    await core.ping(1)  # the Shutdown was handled
    await asyncio.sleep(0.2)  # the second SIGTERM too, most likely (its effect is checked below)
    assert not core.stream_done.is_set() and core.proc.returncode is None
    core.open_gate()
    results = [await asyncio.wait_for(future, 10) for future in (first_result, second_result)]
    assert [json.loads(r.completed.payload_json) for r in results] == [{"n": 1}, {"n": 2}]
    kinds = core.kinds()
    assert kinds.index("draining") < kinds.index(f"result:{refused.invocation_id}")
    assert kinds.index(f"result:{refused.invocation_id}") < min(
        kinds.index(f"result:{first}"), kinds.index(f"result:{second}")
    )
    await asyncio.wait_for(core.stream_done.wait(), 10)  # the runner half-closed
    code, stderr = await core.exit_code()
    assert code == 0, stderr
    assert "SIGTERM: draining 2 invocation(s)" in stderr
    assert "SIGTERM while draining (SIGTERM)" in stderr


async def test_sigterm_with_nothing_in_flight_exits_0(wire: Callable[..., Any]) -> None:
    core = await wire({"steps/quick_step.rb": CANCEL_STEPS["steps/quick_step.rb"]})
    await core.load("steps/quick_step.rb")
    assert core.proc is not None
    core.proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(core.stream_done.wait(), 10)
    assert core.kinds() == ["draining"]
    code, stderr = await core.exit_code()
    assert code == 0, stderr


RETRY_STEP = """
def config = { "type" => "event", "name" => "Retry", "subscribes" => ["r"], "emits" => [] }

def handler(input, ctx)
  case input["kind"]
  when "after" then raise Motia::RetryAfter.new(2.5, "slow down")
  when "tiny" then raise Motia::RetryAfter.new(0.0001)
  when "zero" then raise Motia::RetryAfter.new(0, "the default backoff")
  when "never" then raise Motia::NonRetryable, "bad input"
  when "never-default" then raise Motia::NonRetryable
  when "invalid" then raise Motia::RetryAfter.new(-1)
  end
end
"""


async def test_retry_after_and_non_retryable_map_to_the_failed_fields(wire: Callable[..., Any]) -> None:
    core = await wire({"steps/retry_step.rb": RETRY_STEP})
    await core.load("steps/retry_step.rb")

    async def fail(kind: str) -> pb.Failed:
        result = await core.invoke("steps/retry_step.rb", EVENT, {"kind": kind})
        assert result.WhichOneof("outcome") == "failed"
        assert result.failed.kind == pb.FAILURE_KIND_HANDLER_ERROR
        return result.failed

    after = await fail("after")
    assert (after.error_type, after.message) == ("Motia::RetryAfter", "slow down")
    assert (after.retry_after_ms, after.non_retryable) == (2500, False)
    assert "retry_step.rb:6" in after.stack
    tiny = await fail("tiny")
    assert (tiny.retry_after_ms, tiny.message) == (1, "retry after 0.0001s")  # never rounded down to "default"
    zero = await fail("zero")
    assert (zero.retry_after_ms, zero.non_retryable) == (0, False)
    never = await fail("never")
    assert (never.error_type, never.message) == ("Motia::NonRetryable", "bad input")
    assert (never.non_retryable, never.retry_after_ms) == (True, 0)
    assert (await fail("never-default")).message == "non-retryable failure"
    invalid = await fail("invalid")
    assert invalid.error_type == "ArgumentError" and "finite number of seconds >= 0" in invalid.message
    assert (invalid.retry_after_ms, invalid.non_retryable) == (0, False)


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
