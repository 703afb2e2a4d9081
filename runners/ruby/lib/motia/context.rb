# frozen_string_literal: true

require_relative "errors"
require_relative "emit"

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

    # A log line is never a point where a cancelled handler stops: a Motia::Cancelled still on its
    # way would otherwise land in the outbox's queue push and drop the line (a handler's cleanup
    # log in its `ensure` was lost that way); it lands at the handler's next blocking operation.
    def log(level, message, fields = nil)
      text = message.is_a?(::String) ? message : message.to_s
      ::Thread.handle_interrupt(::Motia::Cancelled => :never) { @sink.log(level, text, fields) }
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

  # `ctx.streams.<name>` (or `ctx.streams["<name>"]`): a real-time collection of JSON objects,
  # addressed by a group id and an item id, pushed to the WebSocket clients subscribed to the item
  # or its group (docs/streams.md). Each method sends its call at once and waits for the core's
  # answer; a call the core refuses (a stream the project does not declare, an empty id) raises
  # Motia::CallError naming the stream and the declared ones.
  #
  #   todo = ctx.streams.todo
  #   todo.set("inbox", "t1", { "text" => "buy milk" })   # => {"text" => "buy milk", "id" => "t1"}
  #   todo.get("inbox", "t1")                             # => the item, or nil
  #   todo.get_group("inbox")                             # => [items], oldest first (also getGroup)
  #   todo.delete("inbox", "t1")                          # => the removed item, or nil
  #   todo.send({ groupId: "inbox" }, { type: "ping", data: { n: 1 } })   # => nil; not stored
  class Stream
    attr_reader :name

    def initialize(sink, name)
      @sink = sink
      @name = name.to_s.dup.freeze
    end

    # The item, or nil.
    def get(group_id, id) = @sink.stream_get(@name, group_id.to_s, id.to_s)

    # Create or replace an item; `data` must be a Hash (a JSON object). Returns the stored item,
    # `{...data, "id" => id}` (the `id` argument wins over an "id" in `data`).
    def set(group_id, id, data)
      unless data.is_a?(::Hash)
        raise ::TypeError, "streams.#{@name}.set takes a Hash (a JSON object) as data, got #{data.class}"
      end

      @sink.stream_set(@name, group_id.to_s, id.to_s, data)
    end

    # Remove an item; returns it, or nil when there was none.
    def delete(group_id, id) = @sink.stream_delete(@name, group_id.to_s, id.to_s)

    # Every item of the group, oldest first (an update keeps an item's place).
    def get_group(group_id) = @sink.stream_get_group(@name, group_id.to_s)
    alias getGroup get_group # rubocop:disable Naming/MethodName

    # An ephemeral event for the subscribers of a group (`{ "groupId" => g }`) or of one item and
    # its group (`{ "groupId" => g, "id" => i }`). `event` is `{ "type" => String, "data" => any
    # JSON }`. String or symbol keys (`group_id` works too). Not stored; returns nil.
    #
    # This replaces Object#send on streams; `send(:method_name, ...)` with a Symbol or String
    # still calls a method (use `__send__` or `public_send` to be explicit).
    def send(channel, *args, &block)
      return __send__(channel, *args, &block) if channel.is_a?(::Symbol) || channel.is_a?(::String)
      raise ::ArgumentError, "streams.#{@name}.send takes (channel, event), got #{args.size + 1} argument(s)" if args.size != 1

      send_event(channel, args[0])
    end

    def inspect = "#<Motia::Stream #{@name}>"
    alias to_s inspect

    private

    def send_event(channel, event)
      unless channel.is_a?(::Hash)
        raise ::TypeError, "streams.#{@name}.send needs a channel Hash like { \"groupId\" => ..., \"id\" => ... }, " \
                           "got #{channel.class}"
      end
      unless event.is_a?(::Hash)
        raise ::TypeError, "streams.#{@name}.send needs an event Hash like { \"type\" => ..., \"data\" => ... }, " \
                           "got #{event.class}"
      end

      group_id = pick(channel, "groupId", "group_id")
      raise ::ArgumentError, "streams.#{@name}.send: the channel needs a \"groupId\"" if group_id.nil?

      type = pick(event, "type")
      if !(type.is_a?(::String) || type.is_a?(::Symbol)) || type.to_s.empty?
        raise ::ArgumentError, "streams.#{@name}.send: the event needs a non-empty String \"type\", got #{type.inspect}"
      end

      id = pick(channel, "id")
      @sink.stream_send(@name, group_id.to_s, id.nil? ? "" : id.to_s, type.to_s, pick(event, "data"))
      nil
    end

    def pick(hash, *keys)
      keys.each do |key|
        return hash[key] if hash.key?(key)
        return hash[key.to_sym] if hash.key?(key.to_sym)
      end
      nil
    end
  end

  # `ctx.streams`: `ctx.streams.<name>` or `ctx.streams["<name>"]`.
  #
  # In a handler every name gives a Motia::Stream, made on first use: the runner need not know
  # which streams the project declares, the core answers a call on an undeclared one with an error
  # naming it and the declared ones (raised as Motia::CallError). A Streams built with an explicit
  # Hash of streams (tests) hands out only those; any other name raises StreamNotDeclaredError.
  #
  # Dot access works for names that are Ruby identifiers and not methods of this class (`key?`,
  # `names`, Object's own such as `hash` or `display`) nor starting with `to_`; use
  # `ctx.streams["name"]` for the others (`ctx.streams["chat-messages"]`).
  class Streams
    IDENTIFIER = /\A[A-Za-z_][A-Za-z0-9_]*\z/.freeze
    private_constant :IDENTIFIER

    # `streams`: an explicit Hash of name => stream (only those exist). `factory`: a callable
    # name -> stream, used for any name when no Hash is given.
    def initialize(streams = nil, factory: nil)
      @explicit = !streams.nil?
      @streams = (streams || {}).transform_keys(&:to_s)
      @factory = @explicit ? nil : factory
      @mutex = Mutex.new
    end

    def [](name)
      key = name.to_s
      found = @streams[key]
      return found unless found.nil?
      raise StreamNotDeclaredError, key if @factory.nil? || key.empty? || !(name.is_a?(::String) || name.is_a?(::Symbol))

      @mutex.synchronize { @streams[key] ||= @factory.call(key) }
    end

    # True for a stream this object hands out: any non-empty name in a handler, the Hash's keys
    # otherwise.
    def key?(name)
      @streams.key?(name.to_s) || (!@factory.nil? && !name.to_s.empty?)
    end

    # The names handed out so far (with an explicit Hash: its names).
    def names = @mutex.synchronize { @streams.keys }

    def method_missing(name, *args, &block)
      text = name.to_s
      return self[text] if args.empty? && block.nil? && IDENTIFIER.match?(text) && !text.start_with?("to_")

      super
    end

    def respond_to_missing?(name, include_private = false)
      @streams.key?(name.to_s) || super
    end

    def inspect = "#<Motia::Streams #{names.inspect}>"
  end

  # What a handler receives as `context` (or `ctx`).
  #
  #   ctx.trace_id / ctx.traceId   the trace this run belongs to
  #   ctx.flows                    the step's flows
  #   ctx.logger, ctx.state, ctx.streams (ctx.streams.todo.set(group_id, id, data), ...)
  #   ctx.emit({ "topic" => "t", "data" => {...}, "messageGroupId" => "g" })   # returns nil
  #   ctx.cancelled?               true once the core cancelled this invocation (see below)
  #
  # Middleware may hang its own values on the context: `ctx.user = u` (or `ctx[:user] = u`), then
  # `ctx.user` in the handler.
  #
  # Cancellation: when the core cancels the invocation (the step's handler timeout elapsed, or the
  # core is stopping) `cancelled?` turns true, every later call (emit, state.*, streams.*) raises
  # Motia::Cancelled, and the runner raises Motia::Cancelled into the handler's thread the next
  # time it blocks (sleep, IO, a context call waiting for its reply). A handler busy computing is
  # not interrupted: check `ctx.cancelled?` (or call `ctx.raise_if_cancelled!`) between units of
  # work. Log lines still go out.
  class Context
    attr_reader :trace_id, :flows

    # logger, state and streams are made on first use: most handlers touch one of them or none,
    # and every invocation makes a context. Two threads of one handler racing to make one get
    # equal objects (they hold nothing but the sink), so no lock is taken.
    def initialize(trace_id:, flows:, sink:, streams: nil)
      @trace_id = trace_id
      @flows = flows
      @cancel_reason = nil
      @sink = CancellableSink.new(sink, self)
      @logger = nil
      @state = nil
      @streams = streams
      @extras = {}
    end

    def logger = @logger ||= Logger.new(@sink)
    def state = @state ||= State.new(@sink)

    def streams
      @streams ||= begin
        guarded = @sink
        Streams.new(factory: ->(name) { Stream.new(guarded, name) })
      end
    end

    def traceId = @trace_id # rubocop:disable Naming/MethodName

    # True once the core cancelled this invocation.
    def cancelled? = !@cancel_reason.nil?

    # "timeout" (the step's handler timeout elapsed), "shutdown" (the core is stopping) or
    # "cancelled" once cancelled; nil before.
    attr_reader :cancel_reason

    # Raise Motia::Cancelled if the invocation was cancelled; nil otherwise.
    def raise_if_cancelled!
      reason = @cancel_reason
      raise Cancelled, reason unless reason.nil?

      nil
    end

    # Mark the invocation cancelled: `cancelled?` turns true and later calls raise
    # Motia::Cancelled. The runner calls it when the core cancels the invocation (and also
    # interrupts the handler's thread); a unit test can call it to check that a handler stops.
    # Idempotent: the first reason stays.
    def cancel(reason = "cancelled")
      @cancel_reason ||= reason.to_s.dup.freeze
      nil
    end

    # Send an event. `event`: {"topic" => String, "data" => any JSON, "messageGroupId" => String?}
    # (symbol keys work too). Returns nil once the core accepted it; raises Motia::CallError when
    # the core rejects it. An emit Motia would drop (positional arguments, no Hash, no topic, a topic
    # the step does not declare) is dropped with a warning naming this call's file and line;
    # `serve --strict` raises instead (lib/motia/emit.rb).
    def emit(event = nil, *rest)
      topic = event.is_a?(::Hash) ? pick(event, "topic") : nil
      problem = Emit.shape_problem(event, rest, topic)
      return drop_shape(*problem) unless problem.nil?

      group = pick(event, "messageGroupId") || pick(event, "message_group_id")
      dropped = Emit.dropped_reply(@sink.emit(topic.to_s, pick(event, "data"), group.nil? ? "" : group.to_s))
      return nil if dropped.nil?

      # the call blocked for the reply, so the caller is still on the stack: no stack taken per emit
      site = Emit.call_site
      @sink.log(:warn, "#{dropped[1]}#{Emit.where(site)}", Emit.fields(dropped[0], topic.to_s, site))
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

    def drop_shape(reason, topic, what)
      site = Emit.call_site
      raise ::ArgumentError, "#{what}#{Emit.where(site)}; serve --strict refuses it" if Emit.strict?

      @sink.log(:warn, "#{what}: Motia drops such an emit, so the event was dropped#{Emit.where(site)}",
                Emit.fields(reason, topic, site))
      nil
    end

    def pick(hash, key)
      return hash[key] if hash.key?(key)

      hash[key.to_sym]
    end

    # The context's view of the runner's sink: every call but logging raises Motia::Cancelled
    # once the invocation is cancelled.
    class CancellableSink
      def initialize(sink, context)
        @sink = sink
        @context = context
      end

      # Plain methods, no splat: these run for every call of every handler.
      def emit(topic, data, group) = live.emit(topic, data, group)
      def state_get(group_id, key) = live.state_get(group_id, key)
      def state_set(group_id, key, value) = live.state_set(group_id, key, value)
      def state_delete(group_id, key) = live.state_delete(group_id, key)
      def state_get_group(group_id) = live.state_get_group(group_id)
      def state_clear(group_id) = live.state_clear(group_id)
      def stream_get(stream, group_id, id) = live.stream_get(stream, group_id, id)
      def stream_set(stream, group_id, id, data) = live.stream_set(stream, group_id, id, data)
      def stream_delete(stream, group_id, id) = live.stream_delete(stream, group_id, id)
      def stream_get_group(stream, group_id) = live.stream_get_group(stream, group_id)
      def stream_send(stream, group_id, id, type, data) = live.stream_send(stream, group_id, id, type, data)

      def log(level, message, fields)
        @sink.log(level, message, fields)
      end

      private

      # The sink, unless the invocation was cancelled (then Motia::Cancelled).
      def live
        @context.raise_if_cancelled!
        @sink
      end
    end
    private_constant :CancellableSink
  end
end
