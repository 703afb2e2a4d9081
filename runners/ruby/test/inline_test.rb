# frozen_string_literal: true

require_relative "test_helper"

# Handlers run inline on the reader (MotiaRunner::Reader, InlinePolicy, Invocations#dispatch):
# learned per step, and a handler that blocks after all (sleep, a queue, a context call) hands the
# reading to the standby thread, so the other invocations keep going. A fake core feeds frames
# into a Reader and answers calls; no test asserts a duration ("blocked" is a Queue the test
# controls).
class InlineTest < Minitest::Test
  PB = MotiaRunner::PB

  # The runner's side of a stream without grpc: frames in through a Queue, envelopes out through
  # the Outbox, decoded by a thread that answers every call with `null` and queues the rest.
  class FakeCore
    attr_reader :reader, :invocations, :policy, :out, :written

    # direct: the reader writes the answers to the frames it dispatches (Outbox#write_held).
    def initialize(steps:, direct: false)
      @frames = Queue.new
      @out = Queue.new
      @outbox = MotiaRunner::Outbox.new
      router = MotiaRunner::CallRouter.new(@outbox)
      @policy = MotiaRunner::InlinePolicy.new
      @invocations = MotiaRunner::Invocations.new(steps: steps, router: router, outbox: @outbox,
                                                  pool: MotiaRunner::WorkerPool.new(max_threads: 8), policy: @policy)
      @written = Queue.new # [writing thread's name, envelopes] per frame
      write = ->(frame) { deliver(frame) }
      @reader = MotiaRunner::Reader.new(
        read: -> { @frames.pop }, decode: ->(frame) { frame.dup }, outbox: @outbox, write: (write if direct),
        dispatch: lambda { |message|
          case message.kind
          when :start then @invocations.start(message.start)
          when :cancel then @invocations.cancel(message.cancel)
          when :call_reply then router.resolve(message.call_reply)
          end
        }
      )
      @invocations.reader = @reader
      @run = Thread.new { @reader.run }
      @writer = Thread.new { @outbox.each(&write) }
      @writer.name = "writer"
    end

    def send_frame(*messages)
      @frames << messages
    end

    def start(step_id, id, payload = "{}")
      PB::CoreMessage.new(start: PB::StartInvocation.new(invocation_id: id, step_id: step_id, fencing_token: 1,
                                                         trigger: :TRIGGER_EVENT, payload_json: payload))
    end

    def cancel(id)
      PB::CoreMessage.new(cancel: PB::Cancel.new(invocation_id: id, reason: :REASON_TIMEOUT))
    end

    # The next result or Cancelled: [kind, invocation id, Completed/Failed].
    def next_outcome
      message = @out.pop
      body = message.kind == :result ? message.result : message.cancelled
      [message.kind, body.invocation_id, message.kind == :result ? body.outcome : nil, body]
    end

    # Run `step_id` until the policy runs it inline (at most `limit` runs, one at a time).
    def learn(step, limit: 400)
      limit.times do |i|
        break if @policy.inline?(step)

        send_frame(start(step.step_id, "learn-#{step.step_id}-#{i}"))
        next_outcome
      end
      @policy.inline?(step)
    end

    def stop
      @frames << nil # the end of the stream
      @run.join(10)
      @outbox.close
      @writer.join(10)
    end

    private

    def deliver(frame)
      messages = PB::RunnerFrame.decode(frame).messages
      @written << [Thread.current.name, messages.size]
      messages.each { |m| answer(m) }
      true
    end

    def answer(message)
      if message.kind == :call && message.call.request_id.positive?
        reply = PB::CallReply.new(request_id: message.call.request_id, value_json: "null")
        send_frame(PB::CoreMessage.new(call_reply: reply))
      elsif message.kind != :call
        @out << message
      end
    end
  end

  def step(id, &handler)
    MotiaRunner::LoadedStep.new(step_id: id, relative_path: "#{id}_step.rb", type: "event", config: {},
                                middleware: [], handler: handler)
  end

  def test_a_short_handler_runs_on_the_reader_once_learned
    check_a_short_handler_runs_on_the_reader_once_learned(direct: false)
  end

  def test_a_short_handler_runs_on_the_reader_once_learned_with_direct_writes
    check_a_short_handler_runs_on_the_reader_once_learned(direct: true)
  end

  def check_a_short_handler_runs_on_the_reader_once_learned(direct:)
    threads = []
    fast = step("fast") { |_input, _ctx| threads << Thread.current.name; { "ok" => true } }
    core = FakeCore.new(direct: direct, steps: { "fast" => fast })
    assert core.learn(fast), "a no-op handler is learned as inline"
    assert_match(/\Amotia-worker/, threads.first) # learned on the pool
    core.send_frame(core.start("fast", "after"))
    assert_equal [:result, "after", :completed], core.next_outcome.first(3)
    assert_equal "motia-reader", threads.last
    # The answers to one frame: one frame back, written by the reader itself with direct writes.
    core.written.clear
    core.send_frame(*Array.new(10) { |i| core.start("fast", "burst-#{i}") })
    assert_equal 10, Array.new(10) { core.next_outcome }.count { |kind, _, outcome| [kind, outcome] == %i[result completed] }
    written = []
    written << core.written.pop until core.written.empty?
    if direct
      assert_equal [["motia-reader", 10]], written
    else
      assert_equal [["writer", 10]], written.group_by(&:first).map { |name, frames| [name, frames.sum(&:last)] }
    end
    assert_equal 0, core.reader.takeovers
  ensure
    core&.stop
  end

  def test_a_blocking_inline_handler_hands_reading_over_and_the_rest_of_its_frame_still_runs
    check_a_blocking_inline_handler_hands_reading_over_and_the_rest_of_its_frame_still_runs(direct: false)
  end

  def test_a_blocking_inline_handler_hands_reading_over_and_the_rest_of_its_frame_still_runs_with_direct_writes
    check_a_blocking_inline_handler_hands_reading_over_and_the_rest_of_its_frame_still_runs(direct: true)
  end

  def check_a_blocking_inline_handler_hands_reading_over_and_the_rest_of_its_frame_still_runs(direct:)
    gate = Queue.new
    blocked = Queue.new
    sometimes = step("sometimes") do |input, _ctx|
      if input["block"]
        blocked << Thread.current.name
        gate.pop
      end
      { "ok" => true }
    end
    fast = step("fast") { |_input, _ctx| { "ok" => true } }
    core = FakeCore.new(direct: direct, steps: { "sometimes" => sometimes, "fast" => fast })
    assert core.learn(sometimes)
    # One frame: the blocking run first, then two more; then a frame of its own.
    core.send_frame(core.start("sometimes", "slow", '{"block":true}'), core.start("fast", "f1"), core.start("fast", "f2"))
    assert_equal "motia-reader", blocked.pop # it runs inline, and blocks there
    core.send_frame(core.start("fast", "f3"))
    done = Array.new(3) { core.next_outcome.first(3) }
    assert_equal [[:result, "f1", :completed], [:result, "f2", :completed], [:result, "f3", :completed]], done.sort
    gate << :go
    assert_equal [:result, "slow", :completed], core.next_outcome.first(3)
    assert_equal 1, core.reader.takeovers
    assert_nil core.policy.verdict(sometimes), "taken over: back to the pool until it earns its way back"
    core.send_frame(core.start("sometimes", "again", '{"block":false}'))
    assert_equal [:result, "again", :completed], core.next_outcome.first(3)
  ensure
    gate&.push(:go)
    core&.stop
  end

  def test_an_inline_handler_that_raises_fails_its_invocation_only
    check_an_inline_handler_that_raises_fails_its_invocation_only(direct: false)
  end

  def test_an_inline_handler_that_raises_fails_its_invocation_only_with_direct_writes
    check_an_inline_handler_that_raises_fails_its_invocation_only(direct: true)
  end

  def check_an_inline_handler_that_raises_fails_its_invocation_only(direct:)
    flaky = step("flaky") { |input, _ctx| input["raise"] ? raise(ArgumentError, "bad input") : { "ok" => true } }
    core = FakeCore.new(direct: direct, steps: { "flaky" => flaky })
    assert core.learn(flaky)
    core.send_frame(core.start("flaky", "boom", '{"raise":true}'), core.start("flaky", "fine"))
    kind, id, outcome, result = core.next_outcome
    assert_equal [:result, "boom", :failed], [kind, id, outcome]
    assert_equal ["ArgumentError", "bad input", :FAILURE_KIND_HANDLER_ERROR],
                 [result.failed.error_type, result.failed.message, result.failed.kind]
    assert_equal [:result, "fine", :completed], core.next_outcome.first(3)
    assert_equal :inline, core.policy.verdict(flaky), "a raise is a short run like any other"
    assert_equal 0, core.reader.takeovers
  ensure
    core&.stop
  end

  def test_a_context_call_from_an_inline_handler_hands_reading_over_at_once
    check_a_context_call_from_an_inline_handler_hands_reading_over_at_once(direct: false)
  end

  def test_a_context_call_from_an_inline_handler_hands_reading_over_at_once_with_direct_writes
    check_a_context_call_from_an_inline_handler_hands_reading_over_at_once(direct: true)
  end

  def check_a_context_call_from_an_inline_handler_hands_reading_over_at_once(direct:)
    seen = Queue.new
    caller = step("caller") do |input, ctx|
      seen << [Thread.current.name, ctx.state.get("g", "k")] if input["call"]
      { "ok" => true }
    end
    core = FakeCore.new(direct: direct, steps: { "caller" => caller })
    assert core.learn(caller)
    core.send_frame(core.start("caller", "c1", '{"call":true}'))
    assert_equal ["motia-reader", nil], seen.pop # the reply came through the new holder
    assert_equal [:result, "c1", :completed], core.next_outcome.first(3)
    assert_equal 1, core.reader.takeovers
    assert_equal :pool, core.policy.verdict(caller), "a handler that makes calls stays on the pool"
    core.send_frame(core.start("caller", "c2", '{"call":true}'))
    assert_match(/\Amotia-worker/, seen.pop.first)
    assert_equal [:result, "c2", :completed], core.next_outcome.first(3)
  ensure
    core&.stop
  end

  def test_an_inline_handler_blocked_in_sleep_is_cancelled_after_the_takeover
    check_an_inline_handler_blocked_in_sleep_is_cancelled_after_the_takeover(direct: false)
  end

  def test_an_inline_handler_blocked_in_sleep_is_cancelled_after_the_takeover_with_direct_writes
    check_an_inline_handler_blocked_in_sleep_is_cancelled_after_the_takeover(direct: true)
  end

  def check_an_inline_handler_blocked_in_sleep_is_cancelled_after_the_takeover(direct:)
    entered = Queue.new
    sleeper = step("sleeper") do |input, _ctx|
      if input["sleep"]
        entered << true
        sleep(60)
      end
      { "ok" => true }
    end
    core = FakeCore.new(direct: direct, steps: { "sleeper" => sleeper })
    assert core.learn(sleeper)
    core.send_frame(core.start("sleeper", "long", '{"sleep":true}'))
    entered.pop
    core.send_frame(core.cancel("long")) # read by the new holder: the old one sleeps
    assert_equal [:cancelled, "long"], core.next_outcome.first(2)
    core.send_frame(core.start("sleeper", "next"))
    assert_equal [:result, "next", :completed], core.next_outcome.first(3)
    assert_equal [1, 1], [core.invocations.cancelled, core.reader.takeovers]
  ensure
    core&.stop
  end

  def test_the_starts_of_a_big_frame_run_on_the_pool
    threads = Queue.new
    fast = step("fast") { |_input, _ctx| threads << Thread.current.name; { "ok" => true } }
    core = FakeCore.new(steps: { "fast" => fast })
    assert core.learn(fast)
    threads.clear
    size = MotiaRunner::Reader::INLINE_FRAME_MAX + 1
    core.send_frame(*Array.new(size) { |i| core.start("fast", "big-#{i}") })
    size.times { core.next_outcome }
    names = Array.new(size) { threads.pop }
    assert(names.none?("motia-reader"), names.uniq.inspect)
    core.send_frame(core.start("fast", "small"))
    core.next_outcome
    assert_equal "motia-reader", threads.pop
  ensure
    core&.stop
  end

  def test_an_inline_handler_that_ends_its_thread_does_not_end_reading
    quitter = step("quitter") { |input, _ctx| input["exit"] ? Thread.exit : { "ok" => true } }
    core = FakeCore.new(steps: { "quitter" => quitter })
    assert core.learn(quitter)
    core.send_frame(core.start("quitter", "gone", '{"exit":true}'), core.start("quitter", "next"))
    assert_equal [:result, "next", :completed], core.next_outcome.first(3)
    core.send_frame(core.start("quitter", "later"))
    assert_equal [:result, "later", :completed], core.next_outcome.first(3)
  ensure
    core&.stop
  end

  def test_the_policy_keeps_a_slow_handler_on_the_pool_and_tolerates_a_rare_slow_run
    policy = MotiaRunner::InlinePolicy.new
    fast = step("fast") { nil }
    slow = step("slow") { nil }
    (MotiaRunner::InlinePolicy::INLINE_CREDIT - 1).times { policy.observe(fast, 0.0001, blocked: false) }
    assert_nil policy.verdict(fast)
    policy.observe(fast, 0.0001, blocked: false)
    assert_equal :inline, policy.verdict(fast)
    40.times { policy.observe(fast, 0.0001, blocked: false) }
    policy.observe(fast, 0.05, blocked: false) # a preemption or a GC pause
    assert_equal :inline, policy.verdict(fast)
    200.times do |i|
      policy.observe(slow, i % 4 == 0 ? 0.01 : 0.0001, blocked: false) # slow one run in four
    end
    assert_nil policy.verdict(slow)
    policy.observe(slow, 0.0001, blocked: true)
    assert_equal :pool, policy.verdict(slow)
    refute policy.probing?(slow)
    policy.observe(fast, 0.0001, blocked: false, taken_over: true)
    assert_nil policy.verdict(fast)
    assert_equal(-32, fast.inline_record.credit) # doubles with each takeover
    disabled = MotiaRunner::InlinePolicy.new(enabled: false)
    100.times { disabled.observe(fast, 0.0001, blocked: false) }
    refute disabled.probing?(fast)
  end
end
