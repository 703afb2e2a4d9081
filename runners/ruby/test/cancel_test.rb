# frozen_string_literal: true

require_relative "test_helper"

# Cancellation (Motia::Context#cancel, MotiaRunner::Running, CallRouter#cancel_invocation,
# Invocations#cancel) and the retry hints. No test asserts a duration: "blocked" is a Queue the
# test controls, and sleeps are only upper bounds that a cancel cuts short.
class CancelTest < Minitest::Test
  PB = MotiaRunner::PB

  def test_retry_after_and_non_retryable
    after = Motia::RetryAfter.new(2.5, "slow down")
    assert_kind_of Motia::Error, after
    assert_equal ["slow down", 2.5, 2500, false], [after.message, after.seconds, after.retry_after_ms, after.non_retryable]
    assert_equal 1, Motia::RetryAfter.new(0.0001).retry_after_ms # a positive delay never becomes "default"
    assert_equal "retry after 0.0001s", Motia::RetryAfter.new(0.0001).message
    assert_equal 0, Motia::RetryAfter.new(0).retry_after_ms
    assert_equal 1500, Motia::RetryAfter.new(Rational(3, 2)).retry_after_ms
    [-1, Float::INFINITY, Float::NAN, "5", nil].each do |bad|
      assert_raises(ArgumentError, bad.inspect) { Motia::RetryAfter.new(bad) }
    end
    error = assert_raises(Motia::NonRetryable) { raise Motia::NonRetryable, "bad input" }
    assert_equal ["bad input", true], [error.message, error.non_retryable]
    assert_equal "non-retryable failure", Motia::NonRetryable.new.message
  end

  def test_cancelled_is_not_a_standard_error
    refute Motia::Cancelled.ancestors.include?(StandardError) # `rescue => e` does not swallow it
    assert_equal "timeout", Motia::Cancelled.new("timeout").reason
    assert_match(/longer than the step allows/, Motia::Cancelled.new("timeout").message)
    assert_match(/shutting down/, Motia::Cancelled.new("shutdown").message)
    swallowed = begin
      begin
        raise Motia::Cancelled
      rescue => e # rubocop:disable Style/RescueStandardError
        e
      end
    rescue Motia::Cancelled
      :propagated
    end
    assert_equal :propagated, swallowed
  end

  def test_context_calls_raise_after_cancel_and_logging_still_works
    sink = RecordingSink.new
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: sink)
    refute ctx.cancelled?
    assert_nil ctx.cancel_reason
    assert_nil ctx.raise_if_cancelled!
    ctx.state.get("g", "k")
    ctx.cancel("timeout")
    ctx.cancel("shutdown") # the first reason stays
    assert ctx.cancelled?
    assert_equal "timeout", ctx.cancel_reason
    [-> { ctx.state.get("g", "k") }, -> { ctx.emit({ "topic" => "t" }) }, -> { ctx.streams.todo.get("g", "1") },
     -> { ctx.raise_if_cancelled! }].each do |call|
      error = assert_raises(Motia::Cancelled) { call.call }
      assert_equal "timeout", error.reason
    end
    ctx.logger.info("still logged")
    assert_equal %i[state_get log], sink.calls.map(&:first)
  end

  def test_a_cancel_interrupts_user_code_blocked_in_sleep_or_a_queue
    [-> { sleep(60) }, -> { Queue.new.pop }].each do |blocking|
      running = MotiaRunner::Running.new("inv", 3)
      assert running.begin!
      entered = Queue.new
      worker = Thread.new do
        running.user_code do
          entered << true
          blocking.call
          :not_interrupted
        end
      rescue Motia::Cancelled => e
        e.reason
      end
      entered.pop
      assert_same worker, running.cancel("timeout") # the thread in user code, interrupted
      assert_equal "timeout", worker.value
      assert_equal "timeout", running.finish
    end
  end

  def test_computing_user_code_is_not_interrupted_and_a_late_interrupt_never_leaks
    running = MotiaRunner::Running.new("inv", 3)
    assert running.begin!
    inside = Queue.new
    go_on = false
    worker = Thread.new do
      value = running.user_code do
        inside << true
        spins = 0
        spins += 1 until go_on # computing: the interrupt waits for a blocking operation
        :returned
      end
      sleep(0.01) # runner code after the handler: the pending interrupt was discarded
      value
    end
    inside.pop
    assert_same worker, running.cancel("timeout")
    go_on = true
    assert_equal :returned, worker.value
  end

  def test_user_code_does_not_start_once_cancelled_and_a_queued_invocation_is_not_started
    running = MotiaRunner::Running.new("inv", 3)
    assert running.begin!
    assert_nil running.cancel("shutdown") # no thread in user code right now
    ran = false
    error = assert_raises(Motia::Cancelled) { running.user_code { ran = true } }
    assert_equal "shutdown", error.reason
    refute ran
    assert_equal :again, running.cancel("timeout")
    assert_equal "shutdown", running.finish
    assert_equal :finished, running.cancel("timeout")

    queued = MotiaRunner::Running.new("inv2", 4)
    assert_equal :not_started, queued.cancel("timeout")
    refute queued.begin!
  end

  def test_the_context_made_after_a_cancel_is_cancelled
    running = MotiaRunner::Running.new("inv", 3)
    running.begin!
    running.cancel("timeout")
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: RecordingSink.new)
    running.context = ctx
    assert_equal "timeout", ctx.cancel_reason
  end

  def test_cancel_invocation_wakes_the_other_threads_waiting_for_a_reply
    outbox = MotiaRunner::Outbox.new
    router = MotiaRunner::CallRouter.new(outbox)
    body = PB::StateGet.new(group_id: "g", key: "k")
    waiting = Array.new(2) do |i|
      Thread.new { router.call(i.zero? ? "a" : "b", :state_get, body) }.tap { |t| t.report_on_exception = false }
    end
    sleep(0.01) until router.pending_count == 2
    router.cancel_invocation("a", "timeout")
    assert_raises(Motia::Cancelled) { waiting[0].join }
    assert_equal 1, router.pending_count # b still waits
    # An interrupt raised into a waiting thread drops its pending call.
    waiting[1].raise(Motia::Cancelled.new("timeout"))
    assert_raises(Motia::Cancelled) { waiting[1].join }
    assert_equal 0, router.pending_count
  end

  def test_invocations_answer_cancelled_and_never_a_result_for_a_cancelled_invocation
    outbox = MotiaRunner::Outbox.new
    router = MotiaRunner::CallRouter.new(outbox)
    pool = MotiaRunner::WorkerPool.new(max_threads: 4)
    started = Queue.new
    steps = {
      "sleepy" => MotiaRunner::LoadedStep.new(
        step_id: "sleepy", relative_path: "sleepy_step.rb", type: "event", config: {}, middleware: [],
        handler: lambda { |_input, ctx|
          started << ctx
          sleep(60)
        }
      )
    }
    invocations = MotiaRunner::Invocations.new(steps: steps, router: router, outbox: outbox, pool: pool)
    invocations.start(PB::StartInvocation.new(invocation_id: "i1", step_id: "sleepy", fencing_token: 9,
                                              trigger: :TRIGGER_EVENT, payload_json: "{}"))
    ctx = started.pop
    invocations.cancel(PB::Cancel.new(invocation_id: "i1", reason: :REASON_TIMEOUT))
    assert_equal 0, invocations.drain(10)
    assert ctx.cancelled?
    invocations.cancel(PB::Cancel.new(invocation_id: "unknown"))
    invocations.stop_accepting
    invocations.start(PB::StartInvocation.new(invocation_id: "i2", step_id: "sleepy", fencing_token: 10))
    outbox.close
    messages = outbox.to_enum(:each).flat_map { |frame| PB::RunnerFrame.decode(frame).messages.to_a }
    seen = messages.map do |message|
      body = message.kind == :result ? message.result : message.cancelled
      [message.kind, body.invocation_id, body.fencing_token]
    end
    assert_equal [[:cancelled, "i1", 9], [:cancelled, "unknown", 0], [:result, "i2", 10]], seen
    assert_equal :FAILURE_KIND_SHUTTING_DOWN, messages[2].result.failed.kind
    assert_equal [0, 1], [invocations.completed, invocations.cancelled]
  end
end
