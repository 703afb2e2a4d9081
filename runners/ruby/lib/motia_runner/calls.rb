# frozen_string_literal: true

require_relative "errors"
require_relative "json_codec"
require_relative "outbox"
require_relative "proto"
require_relative "text"
require_relative "../motia/errors"

module MotiaRunner
  # Calls from handlers to the core (emit, state, streams, log) and the replies that answer them.
  #
  # A call is queued in the outbox the moment the handler makes it (eager), under a request id
  # unique on the stream; the calling thread then waits on its own Queue, which the reader thread
  # fills when the CallReply with that id arrives. Log lines use request id 0: no reply, no wait.
  #
  # Cancellation: the Motia::Cancelled the runner raises into a cancelled handler's thread is
  # masked to blocking operations (Running#user_code), so here it can only land in the wait for
  # the reply or before a lock is taken, never inside a critical section; a call it ends forgets
  # its request id. #cancel_invocation wakes the other threads of a cancelled invocation that
  # wait for a reply.
  class CallRouter
    OP_NAMES = {
      emit: "emit", state_get: "state.get", state_set: "state.set", state_delete: "state.delete",
      state_get_group: "state.getGroup", state_clear: "state.clear",
      stream_get: "streams.get", stream_set: "streams.set", stream_delete: "streams.delete",
      stream_get_group: "streams.getGroup", stream_send: "streams.send"
    }.freeze
    LEVELS = { debug: :LEVEL_DEBUG, info: :LEVEL_INFO, warn: :LEVEL_WARN, warning: :LEVEL_WARN,
               error: :LEVEL_ERROR }.freeze
    def initialize(outbox)
      @outbox = outbox
      @mutex = Mutex.new
      @next_id = 0
      @pending = {} # request id => [waiter Queue, invocation id, waiting thread]
      @closed = nil
    end

    def pending_count
      @mutex.synchronize { @pending.size }
    end

    # Send `op` (a key of OP_NAMES) with its protobuf message; wait for and return the reply's
    # value JSON bytes. Raises Motia::CallError when the core answers with an error, the message
    # is too large or the stream is gone; Motia::Cancelled when the invocation was cancelled
    # while waiting.
    def call(invocation_id, op, body)
      waiter = Thread::Queue.new
      request_id = kind = nil
      begin
        request_id = register(waiter, invocation_id)
        send_call(request_id, invocation_id, op, body)
        # An inline run hands the reading over first: the reply comes through the reader.
        Thread.current[:motia_watch]&.blocking!
        kind, value = waiter.pop
      ensure
        forget(request_id) if kind.nil? && request_id
      end
      return value if kind == :ok
      raise ::Motia::Cancelled, value if kind == :cancelled

      raise ::Motia::CallError.new(value[1], value[0], OP_NAMES[op])
    end

    # Wake every thread of `invocation_id` waiting for a reply, except `except` (the handler's
    # own thread, which the runner interrupts itself): their calls raise Motia::Cancelled.
    def cancel_invocation(invocation_id, reason, except: nil)
      woken = @mutex.synchronize do
        ids = @pending.select { |_, (_, owner, thread)| owner == invocation_id && !thread.equal?(except) }.keys
        ids.map { |id| @pending.delete(id)[0] }
      end
      woken.each { |waiter| waiter.push([:cancelled, reason]) }
      nil
    end

    # Queue a log line (request id 0: no reply). Never raises.
    def log(invocation_id, level, message, fields)
      log = PB::Log.new(
        level: LEVELS.fetch(level, :LEVEL_INFO), message: Text.utf8(message),
        fields_json: JsonCodec.dump_log_fields(fields), time_unix_ms: (Time.now.to_r * 1000).to_i
      )
      @outbox.put(PB::RunnerMessage.new(call: PB::Call.new(request_id: 0, invocation_id: invocation_id, log: log)))
      nil
    rescue MessageTooLargeError => e
      warn("motia runner: a log line of #{e.size} bytes was dropped (above the #{e.limit}-byte message limit)")
      nil
    end

    # Hand a CallReply to the thread waiting for it; late or unknown replies are dropped.
    def resolve(reply)
      waiter, = forget(reply.request_id)
      return if waiter.nil?

      if reply.outcome == :error
        code = reply.error.code
        code = code.is_a?(Symbol) ? code.to_s.delete_prefix("CODE_").downcase.to_sym : :unspecified
        waiter.push([:error, [code, reply.error.message]])
      else
        waiter.push([:ok, reply.value_json])
      end
    end

    # Fail every pending call and refuse new ones: the stream is gone.
    def close(reason)
      pending = @mutex.synchronize do
        @closed = ::Motia::CallError.new(reason, :unavailable)
        taken = @pending
        @pending = {}
        taken
      end
      pending.each_value { |waiter, _| waiter.push([:error, [:unavailable, reason]]) }
    end

    private

    # A new request id whose reply goes to `waiter`.
    def register(waiter, invocation_id)
      @mutex.synchronize do
        raise @closed if @closed

        @next_id += 1
        @pending[@next_id] = [waiter, invocation_id, Thread.current]
        @next_id
      end
    end

    def send_call(request_id, invocation_id, op, body)
      message = PB::RunnerMessage.new(call: PB::Call.new(request_id: request_id, invocation_id: invocation_id, op => body))
      begin
        sent = @outbox.put(message)
      rescue MessageTooLargeError => e
        raise ::Motia::CallError.new("the call is #{e.size} bytes, above the #{e.limit}-byte message limit",
                                     :invalid_argument, OP_NAMES[op])
      end
      return if sent

      raise ::Motia::CallError.new("the connection to the core is closed", :unavailable, OP_NAMES[op])
    end

    def forget(request_id)
      @mutex.synchronize { @pending.delete(request_id) }
    end
  end

  # The sink of one invocation's Motia::Context: stamps the invocation id on every call and
  # does the JSON encoding and decoding.
  class InvocationSink
    def initialize(router, invocation_id)
      @router = router
      @invocation_id = invocation_id
    end

    # Returns the core's reply: nil, or {"dropped" => reason, "message" => ...} for an emit it did
    # not deliver (an undeclared topic; Motia::Context#emit logs it).
    def emit(topic, data, message_group_id)
      data_json = encode(data, "emit", "data")
      decode(@router.call(@invocation_id, :emit,
                          PB::Emit.new(topic: Text.utf8(topic), data_json: data_json, message_group_id: Text.utf8(message_group_id))))
    end

    def state_get(group_id, key)
      decode(@router.call(@invocation_id, :state_get, PB::StateGet.new(group_id: Text.utf8(group_id), key: Text.utf8(key))))
    end

    def state_set(group_id, key, value)
      body = PB::StateSet.new(group_id: Text.utf8(group_id), key: Text.utf8(key),
                              value_json: encode(value, "state.set", "value"))
      decode(@router.call(@invocation_id, :state_set, body))
    end

    def state_delete(group_id, key)
      body = PB::StateDelete.new(group_id: Text.utf8(group_id), key: Text.utf8(key))
      decode(@router.call(@invocation_id, :state_delete, body))
    end

    def state_get_group(group_id)
      value = decode(@router.call(@invocation_id, :state_get_group, PB::StateGetGroup.new(group_id: Text.utf8(group_id))))
      value.nil? ? [] : Array(value)
    end

    def state_clear(group_id)
      @router.call(@invocation_id, :state_clear, PB::StateClear.new(group_id: Text.utf8(group_id)))
      nil
    end

    # -- streams (the Motia::Stream methods check their arguments) ------------------------------

    def stream_get(stream, group_id, id)
      body = PB::StreamGet.new(stream: Text.utf8(stream), group_id: Text.utf8(group_id), id: Text.utf8(id))
      decode(@router.call(@invocation_id, :stream_get, body))
    end

    def stream_set(stream, group_id, id, data)
      body = PB::StreamSet.new(stream: Text.utf8(stream), group_id: Text.utf8(group_id), id: Text.utf8(id),
                               data_json: encode(data, "streams.set", "data"))
      decode(@router.call(@invocation_id, :stream_set, body))
    end

    def stream_delete(stream, group_id, id)
      body = PB::StreamDelete.new(stream: Text.utf8(stream), group_id: Text.utf8(group_id), id: Text.utf8(id))
      decode(@router.call(@invocation_id, :stream_delete, body))
    end

    def stream_get_group(stream, group_id)
      body = PB::StreamGetGroup.new(stream: Text.utf8(stream), group_id: Text.utf8(group_id))
      value = decode(@router.call(@invocation_id, :stream_get_group, body))
      value.nil? ? [] : Array(value)
    end

    # id "" addresses the whole group.
    def stream_send(stream, group_id, id, type, data)
      body = PB::StreamSend.new(stream: Text.utf8(stream), group_id: Text.utf8(group_id), id: Text.utf8(id),
                                type: Text.utf8(type), data_json: encode(data, "streams.send", "data"))
      @router.call(@invocation_id, :stream_send, body)
      nil
    end

    def log(level, message, fields)
      @router.log(@invocation_id, level, message, fields)
    end

    private

    def encode(value, op, what)
      JsonCodec.dump(value, what)
    rescue NotJsonError => e
      raise ::Motia::CallError.new(e.message, :invalid_argument, op)
    end

    def decode(bytes)
      JsonCodec.load(bytes)
    end
  end
end
