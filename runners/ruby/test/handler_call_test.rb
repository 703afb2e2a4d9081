# frozen_string_literal: true

require_relative "test_helper"

class HandlerCallTest < Minitest::Test
  Step = Struct.new(:handler, :middleware, :type)

  def test_middleware_runs_in_order_and_can_answer_early
    order = []
    first = lambda do |req, _ctx, next_fn|
      order << :first
      req["seen"] = true
      next_fn.call.merge("wrapped" => true)
    end
    second = ->(req, _ctx, next_fn) { req["stop"] ? { "early" => true } : (order << :second; next_fn.()) }
    handler = ->(req, _ctx) { order << :handler; { "seen" => req["seen"] } }
    step = Step.new(handler, [first, second], "api")
    assert_equal({ "seen" => true, "wrapped" => true }, MotiaRunner::HandlerCall.run(step, :TRIGGER_API, {}, :ctx))
    assert_equal %i[first second handler], order
    assert_equal({ "early" => true, "wrapped" => true },
                 MotiaRunner::HandlerCall.run(step, :TRIGGER_API, { "stop" => true }, :ctx))
  end

  def test_arguments_per_trigger_and_fewer_parameters
    cron = Step.new(->(ctx) { [ctx] }, [], "cron")
    assert_equal [:ctx], MotiaRunner::HandlerCall.run(cron, :TRIGGER_CRON, nil, :ctx)
    event = Step.new(->(input, ctx) { [input, ctx] }, [], "event")
    assert_equal [1, :ctx], MotiaRunner::HandlerCall.run(event, :TRIGGER_EVENT, 1, :ctx)
    only_ctx = Step.new(->(ctx) { ctx }, [], "event")
    assert_equal 1, MotiaRunner::HandlerCall.run(only_ctx, :TRIGGER_EVENT, 1, :ctx)
    assert_equal :TRIGGER_CRON, MotiaRunner::HandlerCall.effective_trigger(:TRIGGER_UNSPECIFIED, cron)
    assert_equal :TRIGGER_STREAM_AUTH, MotiaRunner::HandlerCall.effective_trigger(:TRIGGER_STREAM_AUTH, cron)
    assert_nil MotiaRunner::HandlerCall.effective_trigger(:TRIGGER_STREAM_ACCESS, cron) # not a handler call
    assert_nil MotiaRunner::HandlerCall.effective_trigger(99, cron) # a trigger from a newer core
  end
end
