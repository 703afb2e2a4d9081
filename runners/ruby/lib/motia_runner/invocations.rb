# frozen_string_literal: true

require_relative "backtrace"
require_relative "calls"
require_relative "config_json"
require_relative "errors"
require_relative "handler_call"
require_relative "json_codec"
require_relative "outbox"
require_relative "proto"
require_relative "text"
require_relative "worker_pool"
require_relative "../motia/context"

module MotiaRunner
  # Runs StartInvocations concurrently and answers each with exactly one InvocationResult.
  #
  # The reader thread calls #start, which hands the invocation to the worker pool and returns at
  # once. Whatever happens in the handler ends as a result:
  #
  #   the runner is draining                      -> Failed SHUTTING_DOWN
  #   the step is not loaded                      -> Failed UNKNOWN_STEP
  #   payload not JSON (or an API payload that is not an object) -> Failed BAD_PAYLOAD
  #   handler or middleware raised (any Exception, SystemExit included) -> Failed HANDLER_ERROR + backtrace
  #   result not JSON, or its InvocationResult above Welcome.max_message_bytes -> Failed BAD_RESULT
  #   nil                                         -> Completed with empty payload_json
  #
  # The stream triggers (docs/streams.md): STREAM_ACCESS calls a stream file's
  # config["canAccess"](subscription, authContext) and completes with `true` or `false`;
  # STREAM_AUTH runs the stream auth file's handler(request, ctx) like an event handler.
  class Invocations
    attr_accessor :accepting
    attr_reader :completed

    def initialize(steps:, router:, outbox:, pool:)
      @steps = steps
      @router = router
      @outbox = outbox
      @pool = pool
      @accepting = true
      @mutex = Mutex.new
      @idle = ConditionVariable.new
      @in_flight = {}
      @completed = 0
    end

    def in_flight
      @mutex.synchronize { @in_flight.size }
    end

    # Begin one invocation without waiting for it. Called on the reader thread.
    def start(start)
      unless @accepting
        return send_failed(start, :FAILURE_KIND_SHUTTING_DOWN, "ShuttingDown", "the runner is shutting down")
      end

      step = @steps[start.step_id]
      if step.nil?
        return send_failed(start, :FAILURE_KIND_UNKNOWN_STEP, "UnknownStep",
                           "step #{start.step_id.inspect} is not loaded in this runner")
      end

      @mutex.synchronize { @in_flight[start.invocation_id] = true }
      @pool.submit { run(start, step) }
    end

    # Wait up to `timeout` seconds for the invocations in flight; returns how many are left.
    def drain(timeout)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      @mutex.synchronize do
        until @in_flight.empty?
          left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          break if left <= 0

          @idle.wait(@mutex, left)
        end
        @in_flight.size
      end
    end

    private

    # A failure decided by the runner rather than raised by the handler.
    class Failure < StandardError
      attr_reader :kind, :error_type

      def initialize(kind, error_type, message)
        super(message)
        @kind = kind
        @error_type = error_type
      end
    end

    def run(start, step)
      result = PB::InvocationResult.new(invocation_id: start.invocation_id, fencing_token: start.fencing_token)
      begin
        result.completed = PB::Completed.new(payload_json: execute(start, step))
      rescue Failure => e
        result.failed = failed(e.kind, e.error_type, e.message, "")
      rescue ::Exception => e # rubocop:disable Lint/RescueException -- a handler's exit must not stop the runner
        result.failed = handler_failed(e)
      end
      send_result(result, step)
    ensure
      @mutex.synchronize do
        @completed += 1
        @in_flight.delete(start.invocation_id)
        @idle.broadcast if @in_flight.empty?
      end
    end

    def execute(start, step)
      return can_access(start, step) if start.trigger == :TRIGGER_STREAM_ACCESS

      if step.handler.nil?
        raise Failure.new(:FAILURE_KIND_HANDLER_ERROR, "NoHandler", "#{step.relative_path} defines no `handler` method")
      end

      trigger = HandlerCall.effective_trigger(start.trigger, step)
      if trigger.nil?
        raise Failure.new(:FAILURE_KIND_BAD_PAYLOAD, "BadTrigger",
                          "the Ruby runner does not support trigger #{start.trigger} (#{step.relative_path})")
      end
      payload = decode_payload(trigger, start.payload_json)
      context = ::Motia::Context.new(
        trace_id: start.trace_id, flows: start.flows.to_a,
        sink: InvocationSink.new(@router, start.invocation_id)
      )
      value = HandlerCall.run(step, trigger, payload, context)
      begin
        JsonCodec.dump_result(value)
      rescue NotJsonError => e
        raise Failure.new(:FAILURE_KIND_BAD_RESULT, "NotJsonError",
                          "the handler of #{step.relative_path} returned a value that is not JSON: #{e.message}")
      rescue ::StandardError, ::SystemStackError => e
        raise Failure.new(:FAILURE_KIND_BAD_RESULT, Backtrace.class_name(e),
                          "the handler of #{step.relative_path} returned a value that cannot be encoded: #{e.message}")
      end
    end

    TRUE_JSON = "true".b.freeze
    FALSE_JSON = "false".b.freeze
    private_constant :TRUE_JSON, :FALSE_JSON

    # A stream file's `config["canAccess"].call(subscription, auth_context)`, as a JSON boolean by
    # Ruby truthiness (nil and false deny). A raise fails the invocation, which denies the join.
    def can_access(start, step)
      config = step.config
      callable = config.key?("canAccess") ? config["canAccess"] : config[:canAccess]
      unless ConfigJson.callable?(callable)
        raise Failure.new(:FAILURE_KIND_HANDLER_ERROR, "NoCanAccess",
                          "#{step.relative_path} has no callable config[\"canAccess\"]")
      end

      payload = decode_payload(:TRIGGER_EVENT, start.payload_json)
      unless payload.is_a?(::Hash)
        raise Failure.new(:FAILURE_KIND_BAD_PAYLOAD, "BadPayload",
                          "a stream access payload must be a JSON object, got #{payload.class}")
      end
      allowed = HandlerCall.invoke(callable, [payload["subscription"], payload["authContext"]])
      allowed ? TRUE_JSON : FALSE_JSON
    end

    def decode_payload(trigger, raw)
      return nil if trigger == :TRIGGER_CRON

      value = begin
        JsonCodec.load(raw)
      rescue ::JSON::ParserError, ::EncodingError => e
        raise Failure.new(:FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "payload_json is not JSON: #{e.message.lines.first&.strip}")
      end
      if trigger == :TRIGGER_API && !value.is_a?(::Hash)
        raise Failure.new(:FAILURE_KIND_BAD_PAYLOAD, "BadPayload",
                          "an API payload must be a JSON object, got #{value.class}")
      end
      value
    end

    def handler_failed(error)
      failed = failed(:FAILURE_KIND_HANDLER_ERROR, Backtrace.class_name(error), Backtrace.message_of(error),
                      Backtrace.format(error))
      failed.non_retryable = true if error.respond_to?(:non_retryable) && error.non_retryable == true
      retry_after = error.respond_to?(:retry_after_ms) ? error.retry_after_ms : nil
      failed.retry_after_ms = retry_after.to_i if retry_after.is_a?(::Numeric) && retry_after.positive?
      failed
    rescue ::StandardError
      failed(:FAILURE_KIND_HANDLER_ERROR, "Exception", "the handler raised an exception that cannot be described", "")
    end

    def failed(kind, error_type, message, stack)
      PB::Failed.new(kind: kind, error_type: Text.utf8(error_type), message: Text.utf8(message), stack: Text.utf8(stack))
    end

    # Queue the result; one whose envelope would exceed the message limit becomes BAD_RESULT.
    def send_result(result, step)
      @outbox.put(PB::RunnerMessage.new(result: result))
    rescue MessageTooLargeError => e
      result.completed = nil if result.outcome == :completed
      message = "the result of #{step.relative_path} is #{e.size} bytes encoded, above the " \
                "#{e.limit}-byte message limit (Welcome.max_message_bytes)"
      result.failed = failed(:FAILURE_KIND_BAD_RESULT, "ResultTooLarge", message, "")
      @outbox.put(PB::RunnerMessage.new(result: result))
    end

    def send_failed(start, kind, error_type, message)
      result = PB::InvocationResult.new(
        invocation_id: start.invocation_id, fencing_token: start.fencing_token,
        failed: failed(kind, error_type, message, "")
      )
      @outbox.put(PB::RunnerMessage.new(result: result))
      nil
    end
  end
end
