# frozen_string_literal: true

module Motia
  # Base of the errors the step API raises.
  class Error < StandardError; end

  # A context call (emit, state.*, streams.*) the core answered with an error, or that could not
  # be sent.
  #
  #   code: :invalid_argument, :rejected, :unknown_invocation, :internal, :unavailable, :unspecified
  #   op:   "emit", "state.get", "state.set", "state.delete", "state.getGroup", "state.clear",
  #         "streams.get", "streams.set", "streams.delete", "streams.getGroup", "streams.send"
  class CallError < Error
    attr_reader :code, :op

    def initialize(message, code = :unspecified, op = nil)
      super(op ? "#{op}: #{message}" : message)
      @code = code
      @op = op
    end
  end

  # `ctx.streams.<name>` for a name a Motia::Streams built with an explicit Hash of streams (tests)
  # does not hold. In a handler, a call on an undeclared stream raises Motia::CallError instead
  # (the core knows the declared streams).
  class StreamNotDeclaredError < Error
    attr_reader :stream_name

    def initialize(name)
      super("stream '#{name}' is not declared in this project")
      @stream_name = name
    end
  end

  # Raise from a handler to fail this attempt and have it retried after `seconds` (instead of the
  # step's backoff); the attempt still counts against the step's retry limit:
  #
  #   raise Motia::RetryAfter.new(30, "rate limited by the payment API") if response.code == "429"
  #
  # `seconds`: a number >= 0 (Integer, Float, Rational; anything answering `to_f`, e.g. an
  # ActiveSupport duration); 0 keeps the default backoff. The runner reports the failure with
  # `Failed.retry_after_ms` set (`retry_after_ms`, rounded up: a positive delay never becomes 0).
  class RetryAfter < Error
    attr_reader :seconds, :retry_after_ms

    def initialize(seconds, message = nil)
      number = seconds.is_a?(::Numeric) || (!seconds.nil? && !seconds.is_a?(::String) && seconds.respond_to?(:to_f))
      value = number ? seconds.to_f : ::Float::NAN
      unless value.finite? && value >= 0
        raise ::ArgumentError, "Motia::RetryAfter needs a finite number of seconds >= 0, got #{seconds.inspect}"
      end

      @seconds = value
      @retry_after_ms = value.positive? ? [(value * 1000).ceil, 1].max : 0
      super(message.nil? || message.to_s.empty? ? "retry after #{format('%g', value)}s" : message.to_s)
    end

    # Always false: this error asks for a retry.
    def non_retryable = false
  end

  # Raise from a handler to fail this attempt for good: the core does not retry it (an event goes
  # straight to the dead letters), whatever retries the step allows:
  #
  #   raise Motia::NonRetryable, "order #{order.id} has no sku; retrying will not help"
  #
  # Any exception answering `non_retryable` with true is treated the same way, and one answering
  # `retry_after_ms` with a positive number like Motia::RetryAfter.
  class NonRetryable < Error
    def initialize(message = "non-retryable failure")
      super
    end

    # Always true: do not retry.
    def non_retryable = true
  end

  # The core cancelled the invocation: its handler outlived the step's timeout (`reason`
  # "timeout"), or the core is stopping ("shutdown"); "cancelled" otherwise.
  #
  # Raised by every context call (emit, state.*, streams.*) made after the cancellation, and
  # raised by the runner into the handler's thread when it is blocked (sleep, IO, a Queue, a
  # context call waiting for its reply). Logging still works.
  #
  # It is an Exception, not a StandardError (like Timeout's own interrupt): a bare `rescue` or
  # `rescue => e` does not swallow it, so the handler stops. Use `ensure` for clean-up, and let
  # it propagate: the runner reports the handler as stopped once it returns.
  class Cancelled < ::Exception # rubocop:disable Lint/InheritException
    MESSAGES = {
      "timeout" => "the invocation was cancelled: its handler ran longer than the step allows",
      "shutdown" => "the invocation was cancelled: the core is shutting down"
    }.freeze
    private_constant :MESSAGES

    attr_reader :reason

    def initialize(reason = "cancelled")
      @reason = reason.to_s
      super(MESSAGES.fetch(@reason, "the invocation was cancelled"))
    end
  end
end
