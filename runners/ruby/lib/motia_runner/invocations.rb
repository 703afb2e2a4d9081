# frozen_string_literal: true

require_relative "backtrace"
require_relative "calls"
require_relative "config_json"
require_relative "errors"
require_relative "handler_call"
require_relative "http_body"
require_relative "inline_policy"
require_relative "json_codec"
require_relative "outbox"
require_relative "proto"
require_relative "result_wire"
require_relative "running"
require_relative "text"
require_relative "worker_pool"
require_relative "../motia/context"

module MotiaRunner
  # Runs StartInvocations concurrently and answers each with exactly one InvocationResult, or,
  # when the core cancelled it, with Cancelled once its handler stopped.
  #
  # The reader thread calls #start, which hands the invocation to the worker pool and returns at
  # once, or, for a step InlinePolicy found short and non-blocking, runs it right there
  # (Reader#inline, which lets another thread take the reading over if it blocks after all).
  # Whatever happens in the handler ends as a result:
  #
  #   the runner is draining                      -> Failed SHUTTING_DOWN
  #   the step is not loaded                      -> Failed UNKNOWN_STEP
  #   payload not JSON (or an API payload that is not an object) -> Failed BAD_PAYLOAD
  #   handler or middleware raised (any Exception, SystemExit included) -> Failed HANDLER_ERROR + backtrace
  #     (Motia::RetryAfter / Motia::NonRetryable, or any exception answering `retry_after_ms` /
  #     `non_retryable`, set Failed.retry_after_ms / Failed.non_retryable)
  #   result not JSON, or its InvocationResult above Welcome.max_message_bytes -> Failed BAD_RESULT
  #   nil                                         -> Completed with empty payload_json
  #   an API call with http_body, a Hash result   -> Completed with http_response (http_body.rb)
  #   the core sent Cancel                        -> no result; Cancelled once the handler returned
  #
  # The stream triggers (docs/streams.md): STREAM_ACCESS calls a stream file's
  # config["canAccess"](subscription, authContext) and completes with `true` or `false`;
  # STREAM_AUTH runs the stream auth file's handler(request, ctx) like an event handler.
  class Invocations
    attr_reader :completed, :cancelled, :policy
    # The Reader that may run handlers inline (nil: every handler runs on the pool).
    attr_accessor :reader

    CANCEL_REASONS = { REASON_TIMEOUT: "timeout", REASON_SHUTDOWN: "shutdown", REASON_CLIENT_GONE: "client gone" }.freeze

    def initialize(steps:, router:, outbox:, pool:, policy: InlinePolicy.new, log: nil)
      @steps = steps
      @policy = policy
      @log = log
      @reader = nil
      @router = router
      @outbox = outbox
      @pool = pool
      @accepting = true
      @mutex = Mutex.new
      @idle = ConditionVariable.new
      @in_flight = {} # invocation id => Running (holding a slot: running, or cancelled and not yet stopped)
      @completed = 0
      @cancelled = 0
    end

    def in_flight
      @mutex.synchronize { @in_flight.size }
    end

    def accepting
      @mutex.synchronize { @accepting }
    end

    # Take no new work: later StartInvocations fail SHUTTING_DOWN. Atomic with #start, so an
    # invocation is either refused or counted in flight (and waited for by #drain).
    def stop_accepting
      @mutex.synchronize { @accepting = false }
    end

    # Begin one invocation without waiting for it. Called on the reader thread.
    def start(start)
      step = @steps[start.step_id]
      running = Running.new(start.invocation_id, start.fencing_token)
      verdict = @mutex.synchronize do
        if !@accepting then :shutting_down
        elsif step.nil? then :unknown_step
        else
          @in_flight[start.invocation_id] = running
          :run
        end
      end
      case verdict
      when :shutting_down
        send_failed(start, :FAILURE_KIND_SHUTTING_DOWN, "ShuttingDown", "the runner is shutting down")
      when :unknown_step
        send_failed(start, :FAILURE_KIND_UNKNOWN_STEP, "UnknownStep",
                    "step #{start.step_id.inspect} is not loaded in this runner")
      else
        dispatch(start, step, running)
      end
    end

    # Stop one invocation (a Cancel; reader thread). Cancelled goes out once its handler has
    # stopped; at once for an unknown or finished invocation (fencing token 0 when unknown). A
    # second Cancel for one that is stopping changes nothing.
    def cancel(cancel)
      invocation_id = cancel.invocation_id
      reason = CANCEL_REASONS.fetch(cancel.reason, "cancelled")
      running = @mutex.synchronize { @in_flight[invocation_id] }
      return send_cancelled(invocation_id, 0) if running.nil?

      outcome = running.cancel(reason)
      case outcome
      when :finished then send_cancelled(invocation_id, running.fencing_token)
      when :not_started
        send_cancelled(invocation_id, running.fencing_token)
        release(running)
      when :again then nil
      else @router.cancel_invocation(invocation_id, reason, except: outcome)
      end
      nil
    end

    # Wait up to `timeout` seconds (nil: as long as it takes) for the invocations in flight,
    # cancelled ones included; returns how many are left.
    def drain(timeout)
      deadline = timeout && (Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout)
      @mutex.synchronize do
        until @in_flight.empty?
          if deadline
            left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
            break if left <= 0

            @idle.wait(@mutex, left)
          else
            @idle.wait(@mutex)
          end
        end
        @in_flight.size
      end
    end

    private

    # Inline, on the pool and watched, or on the pool.
    def dispatch(start, step, running)
      reader = @reader
      if reader && @policy.inline?(step) && reader.inline_frame?
        reader.inline { |inline_run| watched(start, step, running, inline_run) }
      elsif @policy.probing?(step)
        @pool.submit { watched(start, step, running, nil) }
      else
        @pool.submit { run(start, step, running) }
      end
    end

    # Whether a run waited for a call's reply (CallRouter#call tells the thread's Watch), and, for
    # an inline run, hands the reading over before it waits.
    class Watch
      attr_reader :blocked
      attr_accessor :seconds

      def initialize(reader)
        @reader = reader
        @blocked = false
        @seconds = 0.0
      end

      def blocking!
        @blocked = true
        @reader&.blocking!
      end
    end

    # #run, watched for InlinePolicy: the user code's wall clock (#user_code; the runner's own
    # work around it, such as queueing the result, can wait for a lock and would only add noise),
    # calls waited for, a takeover.
    def watched(start, step, running, inline_run)
      watch = Watch.new(inline_run && @reader)
      Thread.current[:motia_watch] = watch
      run(start, step, running)
    ensure
      Thread.current[:motia_watch] = nil
      observe(step, watch, inline_run) if watch
    end

    def observe(step, watch, inline_run)
      verdict = @policy.observe(step, watch.seconds, blocked: watch.blocked, taken_over: inline_run&.taken_over || false)
      @log&.debug { "#{step.relative_path}: handler now runs #{VERDICTS[verdict]}" } if verdict
    end

    VERDICTS = { inline: "inline on the reader", watched: "on the pool (watched)", pool: "on the pool for good" }.freeze
    private_constant :VERDICTS

    # Running#user_code, timed when the run is watched.
    def user_code(running, &block)
      watch = Thread.current[:motia_watch]
      return running.user_code(&block) if watch.nil?

      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      begin
        running.user_code(&block)
      ensure
        watch.seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      end
    end

    # A failure decided by the runner rather than raised by the handler.
    class Failure < StandardError
      attr_reader :kind, :error_type

      def initialize(kind, error_type, message)
        super(message)
        @kind = kind
        @error_type = error_type
      end
    end

    # On a worker thread. The Motia::Cancelled of a cancel never reaches this code: it is raised
    # only while the handler runs (Running#user_code), which takes a late one back.
    def run(start, step, running)
      return unless running.begin! # cancelled while queued: answered and released already

      completed = failed = nil
      begin
        completed = ResultWire.completed_entry(start.invocation_id, start.fencing_token, execute(start, step, running))
      rescue Failure => e
        failed = failed(e.kind, e.error_type, e.message, "")
      rescue ::Exception => e # rubocop:disable Lint/RescueException -- a handler's exit must not stop the runner
        failed = handler_failed(e)
      end
      # Decided atomically with Running#cancel: a Cancel that came before this line gets its
      # Cancelled here (and the result is dropped); one that comes after is answered at once.
      if running.finish
        send_cancelled(start.invocation_id, start.fencing_token)
      elsif completed
        send_completed(start, completed, step)
      else
        send_failed_result(start, failed, step)
      end
    ensure
      release(running) if running.started?
    end

    # Free the invocation's slot (after its result or Cancelled is queued, so a drain that sees
    # no invocation in flight half-closes after them).
    def release(running)
      cancelled = running.cancelled?
      @mutex.synchronize do
        cancelled ? @cancelled += 1 : @completed += 1
        @in_flight.delete(running.invocation_id)
        @idle.broadcast if @in_flight.empty?
      end
    end

    def execute(start, step, running)
      return can_access(start, step, running) if start.trigger == :TRIGGER_STREAM_ACCESS

      if step.handler.nil?
        raise Failure.new(:FAILURE_KIND_HANDLER_ERROR, "NoHandler", "#{step.relative_path} defines no `handler` method")
      end

      trigger = HandlerCall.effective_trigger(start.trigger, step)
      if trigger.nil?
        raise Failure.new(:FAILURE_KIND_BAD_PAYLOAD, "BadTrigger",
                          "the Ruby runner does not support trigger #{start.trigger} (#{step.relative_path})")
      end
      payload = decode_payload(trigger, start.payload_json)
      http = trigger == :TRIGGER_API && !start.http_body.nil? # body as bytes: answer http_response (http_body.rb)
      add_body(payload, start.http_body) if http
      context = ::Motia::Context.new(
        trace_id: start.trace_id, flows: start.flows.to_a,
        sink: InvocationSink.new(@router, start.invocation_id)
      )
      running.context = context
      value = user_code(running) { HandlerCall.run(step, trigger, payload, context) }
      begin
        (http && HttpBody.response(value)) || JsonCodec.dump_result(value)
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
    def can_access(start, step, running)
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
      allowed = user_code(running) { HandlerCall.invoke(callable, [payload["subscription"], payload["authContext"]]) }
      allowed ? TRUE_JSON : FALSE_JSON
    end

    def add_body(payload, http_body)
      HttpBody.add_body(payload, http_body)
    rescue ::JSON::ParserError, ::EncodingError => e
      raise Failure.new(:FAILURE_KIND_BAD_PAYLOAD, "BadPayload", "http_body is not JSON: #{e.message.lines.first&.strip}")
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
      retry_hints(failed, error)
      failed
    rescue ::StandardError
      failed(:FAILURE_KIND_HANDLER_ERROR, "Exception", "the handler raised an exception that cannot be described", "")
    end

    MAX_RETRY_AFTER_MS = 2**63 - 1
    private_constant :MAX_RETRY_AFTER_MS

    # Motia::RetryAfter / Motia::NonRetryable, or any exception answering `retry_after_ms` (a
    # positive finite number) / `non_retryable` (true), into the Failed fields.
    def retry_hints(failed, error)
      failed.non_retryable = true if error.respond_to?(:non_retryable) && error.non_retryable == true
      delay = error.respond_to?(:retry_after_ms) ? error.retry_after_ms : nil
      return unless delay.is_a?(::Numeric) && !delay.is_a?(::Complex) && delay.positive?
      return if delay.is_a?(::Float) && !delay.finite?

      failed.retry_after_ms = [delay.ceil, MAX_RETRY_AFTER_MS].min
    end

    def failed(kind, error_type, message, stack)
      PB::Failed.new(kind: kind, error_type: Text.utf8(error_type), message: Text.utf8(message), stack: Text.utf8(stack))
    end

    # Queue a completed result (ResultWire's bytes); one above the message limit becomes BAD_RESULT.
    def send_completed(start, entry, step)
      @outbox.put_entry(entry)
    rescue MessageTooLargeError => e
      send_failed_result(start, too_large(e, step))
    end

    # Queue a Failed result; one above the message limit (a huge message or stack) becomes BAD_RESULT.
    def send_failed_result(start, failed, step = nil)
      result = PB::InvocationResult.new(invocation_id: start.invocation_id, fencing_token: start.fencing_token,
                                        failed: failed)
      @outbox.put(PB::RunnerMessage.new(result: result))
      nil
    rescue MessageTooLargeError => e
      send_failed_result(start, too_large(e, step))
    end

    def too_large(error, step)
      what = step ? "the result of #{step.relative_path}" : "the result"
      failed(:FAILURE_KIND_BAD_RESULT, "ResultTooLarge",
             "#{what} is #{error.size} bytes encoded, above the #{error.limit}-byte message limit " \
             "(Welcome.max_message_bytes)", "")
    end

    def send_cancelled(invocation_id, fencing_token)
      @outbox.put(PB::RunnerMessage.new(cancelled: PB::Cancelled.new(invocation_id: invocation_id,
                                                                     fencing_token: fencing_token)))
      nil
    end

    def send_failed(start, kind, error_type, message)
      send_failed_result(start, failed(kind, error_type, message, ""))
    end
  end
end
