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
end
