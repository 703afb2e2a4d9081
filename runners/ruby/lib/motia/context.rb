# frozen_string_literal: true

require_relative "errors"

module Motia
  # `ctx.logger`: structured log lines the core attaches to the step and the trace.
  #
  #   ctx.logger.info("charged", { "amount" => 3 })   # info | warn | warning | error | debug
  #
  # A Hash of fields is merged into the line; any other value becomes {"data": value}; an
  # exception anywhere inside becomes {message, stack, name}. Logging never blocks and never raises.
  class Logger
    def initialize(sink)
      @sink = sink
    end

    def debug(message, fields = nil) = log(:debug, message, fields)
    def info(message, fields = nil) = log(:info, message, fields)
    def warn(message, fields = nil) = log(:warn, message, fields)
    def error(message, fields = nil) = log(:error, message, fields)
    alias warning warn

    def log(level, message, fields = nil)
      @sink.log(level, message.is_a?(::String) ? message : message.to_s, fields)
      nil
    rescue ::StandardError
      nil
    end
  end

  # `ctx.state`: JSON values shared by every step and language, grouped by a caller-chosen id.
  # Each method sends its call at once and waits for the core's answer.
  class State
    def initialize(sink)
      @sink = sink
    end

    # The value stored under `key` in `group_id`, or nil.
    def get(group_id, key) = @sink.state_get(group_id.to_s, key.to_s)

    # Store `value` (anything JSON can hold); returns the stored value.
    def set(group_id, key, value) = @sink.state_set(group_id.to_s, key.to_s, value)

    # Remove `key`; returns the old value or nil.
    def delete(group_id, key) = @sink.state_delete(group_id.to_s, key.to_s)

    # Every value of `group_id` (values only), in the order their keys were first set.
    def get_group(group_id) = @sink.state_get_group(group_id.to_s)
    alias getGroup get_group # rubocop:disable Naming/MethodName

    # Remove every key of `group_id`; returns nil.
    def clear(group_id) = @sink.state_clear(group_id.to_s)
  end

  # `ctx.streams`: `ctx.streams.<name>` or `ctx.streams["<name>"]`.
  #
  # Streams arrive in a later protocol version. The hook is here: a context built with a Hash of
  # declared streams hands them out; any other name raises StreamNotDeclaredError.
  class Streams
    def initialize(streams = {})
      @streams = streams.transform_keys(&:to_s).freeze
    end

    def [](name)
      @streams.fetch(name.to_s) { raise StreamNotDeclaredError, name.to_s }
    end

    def key?(name) = @streams.key?(name.to_s)
    def names = @streams.keys

    def method_missing(name, *args, &block)
      return self[name] if args.empty? && block.nil? && !name.to_s.end_with?("=", "?", "!")

      super
    end

    def respond_to_missing?(name, include_private = false)
      @streams.key?(name.to_s) || super
    end
  end

  # What a handler receives as `context` (or `ctx`).
  #
  #   ctx.trace_id / ctx.traceId   the trace this run belongs to
  #   ctx.flows                    the step's flows
  #   ctx.logger, ctx.state, ctx.streams
  #   ctx.emit({ "topic" => "t", "data" => {...}, "messageGroupId" => "g" })   # returns nil
  #
  # Middleware may hang its own values on the context: `ctx.user = u` (or `ctx[:user] = u`), then
  # `ctx.user` in the handler.
  class Context
    attr_reader :trace_id, :flows, :logger, :state, :streams

    def initialize(trace_id:, flows:, sink:, streams: nil)
      @trace_id = trace_id
      @flows = flows
      @sink = sink
      @logger = Logger.new(sink)
      @state = State.new(sink)
      @streams = streams || Streams.new
      @extras = {}
    end

    def traceId = @trace_id # rubocop:disable Naming/MethodName

    # Send an event. `event`: {"topic" => String, "data" => any JSON, "messageGroupId" => String?}
    # (symbol keys work too). Returns nil once the core accepted it; raises Motia::CallError when
    # the core rejects it.
    def emit(event)
      unless event.is_a?(::Hash)
        raise ::TypeError, "emit takes a Hash like { \"topic\" => ..., \"data\" => ... }, got #{event.class}"
      end

      topic = pick(event, "topic")
      if !(topic.is_a?(::String) || topic.is_a?(::Symbol)) || topic.to_s.empty?
        raise ::ArgumentError, "emit needs a non-empty String \"topic\", got #{topic.inspect}"
      end

      group = pick(event, "messageGroupId") || pick(event, "message_group_id")
      @sink.emit(topic.to_s, pick(event, "data"), group.nil? ? "" : group.to_s)
      nil
    end

    def [](name) = @extras[name.to_sym]

    def []=(name, value)
      @extras[name.to_sym] = value
    end

    def method_missing(name, *args, &block)
      text = name.to_s
      if text.end_with?("=") && args.length == 1 && block.nil?
        @extras[text.chomp("=").to_sym] = args[0]
        return args[0]
      end
      return @extras[name] if args.empty? && block.nil? && @extras.key?(name)

      super
    end

    def respond_to_missing?(name, include_private = false)
      @extras.key?(name) || super
    end

    def inspect = "#<Motia::Context trace_id=#{@trace_id.inspect} flows=#{@flows.inspect}>"

    private

    def pick(hash, key)
      return hash[key] if hash.key?(key)

      hash[key.to_sym]
    end
  end
end
