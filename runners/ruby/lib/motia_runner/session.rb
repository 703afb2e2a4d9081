# frozen_string_literal: true

require "securerandom"
require_relative "calls"
require_relative "diagnostics"
require_relative "errors"
require_relative "invocations"
require_relative "loader"
require_relative "outbox"
require_relative "proto"
require_relative "reader"
require_relative "stream_call"
require_relative "text"
require_relative "version"
require_relative "worker_pool"

module MotiaRunner
  # The runner's side of RunnerService.Connect, from Hello to the end of the stream.
  #
  # Threads: the Reader's threads read (every envelope of every CoreFrame, in order) and run
  # short handlers inline (reader.rb); this one waits for the end; the writer thread runs the
  # Outbox (stream_call.rb); the worker pool runs the other handlers; a drain thread runs after
  # Shutdown or SIGTERM.
  #
  # States: :connecting (Hello sent) -> :ready (Welcome) -> :draining (Shutdown or SIGTERM) -> :stopped.
  #
  # Two drains. The core's Shutdown{grace_ms} waits for the invocations in flight up to the grace,
  # then abandons them. SIGTERM from the OS first tells the core (Draining{reason: "SIGTERM"}: it
  # stops dispatching here and starts a replacement) and then waits for every invocation in
  # flight, however long (the core may still Cancel some). Either way new StartInvocations fail
  # SHUTTING_DOWN, calls keep their replies, and then the runner flushes, half-closes and exits 0
  # when the core ends the stream. A second SIGTERM, or a Shutdown during a drain, changes
  # nothing. SIGTERM before the core's Welcome exits at once (0): nothing is in flight.
  class Session
    CAPABILITIES = %w[middleware streams cancel drain http_body_bytes].freeze
    # After half-closing on Shutdown, how long to wait for the core to end the stream.
    CLOSE_WAIT_SECONDS = 5.0

    attr_reader :state, :steps

    def initialize(settings, log: Diagnostics.new(settings.debug))
      @settings = settings
      @log = log
      @state = :connecting
      @steps = {}
      @outbox = Outbox.new(DEFAULT_MAX_MESSAGE_BYTES)
      @router = CallRouter.new(@outbox)
      @pool = WorkerPool.new(max_threads: settings.threads)
      @invocations = Invocations.new(steps: @steps, router: @router, outbox: @outbox, pool: @pool,
                                     policy: InlinePolicy.new(enabled: settings.inline), log: @log)
      @loader = Loader.new(settings.project_dir)
      @drained = nil
      @drain_reason = nil
      @drain_mutex = Mutex.new
    end

    # Runs until the stream ends; returns the process exit code.
    def run
      call = StreamCall.new(
        @settings.address,
        "grpc.max_send_message_length" => DEFAULT_MAX_MESSAGE_BYTES,
        "grpc.max_receive_message_length" => DEFAULT_MAX_MESSAGE_BYTES,
        "grpc.enable_http_proxy" => 0 # the core is local; never route through $http_proxy
      )
      @outbox.put(hello)
      MotiaRunner.on_sigterm = -> { on_sigterm }
      reader = Reader.new(read: call.method(:read), decode: ->(bytes) { PB::CoreFrame.decode(bytes).messages.to_a },
                          dispatch: method(:dispatch), outbox: @outbox, write: (call.method(:write) if @settings.direct_write))
      @outbox.stream_over = -> { reader.over? }
      @invocations.reader = reader if @settings.inline
      call.start(@outbox)
      reader.run
      ended_cleanly
    rescue RefusedError => e
      warn("motia runner: #{e.message}")
      ExitCode::REFUSED
    rescue ProtocolError => e
      warn("motia runner: #{e.message}")
      ExitCode::FAILED
    rescue GRPC::BadStatus => e
      return ExitCode::OK if draining_done?

      warn("motia runner: the stream to the core failed: #{status_name(e.code)}: #{e.details}")
      ExitCode::FAILED
    ensure
      @drain_mutex.synchronize { @state = :stopped }
      @router.close("the connection to the core is closed")
      @outbox.close
    end

    private

    def ended_cleanly
      return ExitCode::OK if draining_done?

      warn("motia runner: the core closed the stream without a Shutdown; exiting")
      ExitCode::FAILED
    end

    # True once a Shutdown was received: the stream ending then is the expected end (exit 0),
    # whether the drain finished (the core ends the stream after our half-close) or not (the core
    # stopped waiting for us).
    def draining_done?
      !@drained.nil?
    end

    # -- reading ------------------------------------------------------------------------------

    def dispatch(message)
      kind = message.kind
      return handshake(kind, message) if @state == :connecting

      case kind
      when :load_steps then on_load_steps(message.load_steps)
      when :start then @invocations.start(message.start)
      when :call_reply then @router.resolve(message.call_reply)
      when :ping then @outbox.put(PB::RunnerMessage.new(pong: PB::Pong.new(nonce: message.ping.nonce)))
      when :cancel then @invocations.cancel(message.cancel)
      when :shutdown then on_shutdown(message.shutdown)
      end
      # pong, welcome again, and kinds this runner does not know (a newer core): ignored.
    rescue RefusedError, ProtocolError
      raise
    rescue StandardError => e
      # A bug of ours while handling one envelope must not end the stream: say so and go on.
      warn("motia runner: internal error while handling #{kind}: #{e.class}: #{e.message}\n" \
           "#{(e.backtrace || []).first(10).join("\n")}")
      answer_load_failure(message.load_steps, e) if kind == :load_steps
    end

    # The core waits for a StepsLoaded: never leave it without one.
    def answer_load_failure(request, error)
      answer = PB::StepsLoaded.new(request_id: request.request_id)
      request.files.each do |file|
        answer.errors << PB::LoadError.new(
          step_id: file.step_id, error_type: "InternalError",
          message: Text.utf8("the Ruby runner failed while loading steps: #{error.class}: #{error.message}")
        )
      end
      @outbox.put(PB::RunnerMessage.new(steps_loaded: answer))
    rescue StandardError
      nil
    end

    def handshake(kind, message)
      case kind
      when :refusal
        refusal = message.refusal
        raise RefusedError, "the core refused the connection: #{refusal.code}: #{refusal.message} " \
                            "(core speaks protocol #{refusal.core_protocol_min}..#{refusal.core_protocol_max}, " \
                            "this runner #{PROTOCOL_VERSION}..#{PROTOCOL_VERSION})"
      when :welcome
        welcome = message.welcome
        if welcome.protocol_version != PROTOCOL_VERSION
          raise ProtocolError, "the core chose protocol #{welcome.protocol_version}; this runner speaks #{PROTOCOL_VERSION}"
        end

        limit = welcome.max_message_bytes.zero? ? DEFAULT_MAX_MESSAGE_BYTES : welcome.max_message_bytes
        @outbox.max_frame_bytes = [limit, DEFAULT_MAX_MESSAGE_BYTES].min
        if !welcome.project_dir.empty? && File.expand_path(welcome.project_dir) != @loader.project_dir
          @loader = Loader.new(welcome.project_dir)
        end
        @drain_mutex.synchronize { @state = :ready if @state == :connecting }
        @log.debug { "welcomed: session #{welcome.session_id}, max message #{@outbox.max_frame_bytes} bytes" }
      else
        raise ProtocolError, "expected Welcome or Refusal from the core, got #{kind || 'an empty envelope'}"
      end
    end

    def on_load_steps(request)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      loaded, failures = @loader.load(request.files)
      answer = PB::StepsLoaded.new(request_id: request.request_id)
      loaded.each do |step|
        @steps[step.step_id] = step
        answer.steps << PB::StepManifest.new(
          step_id: step.step_id, config_json: step.config_json,
          has_handler: !step.handler.nil?, middleware_count: step.middleware.size
        )
      end
      failures.each do |failure|
        @steps.delete(failure.step_id)
        answer.errors << PB::LoadError.new(
          step_id: failure.step_id, error_type: Text.utf8(failure.error_type),
          message: Text.utf8(failure.message), stack: Text.utf8(failure.stack)
        )
      end
      @outbox.put(PB::RunnerMessage.new(steps_loaded: answer))
      @log.debug do
        ms = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(1)
        "loaded #{loaded.size} step(s), #{failures.size} failure(s) in #{ms} ms"
      end
    end

    def on_shutdown(shutdown)
      grace = shutdown.grace_ms / 1000.0
      return if start_drain("shutdown", grace).nil?

      @log.debug { "shutdown (#{shutdown.reason}): draining for up to #{grace}s" }
    end

    # SIGTERM from the OS, on a thread of its own (the trap handler starts it: a trap may not
    # take locks).
    def on_sigterm
      state = @drain_mutex.synchronize { @state }
      case state
      when :connecting
        warn("motia runner: SIGTERM before the core's Welcome; exiting")
        Process.exit!(ExitCode::OK)
      when :ready, :draining
        left = start_drain("SIGTERM", nil) do
          # First, so the core stops dispatching here before it sees a SHUTTING_DOWN refusal.
          @outbox.put(PB::RunnerMessage.new(draining: PB::Draining.new(reason: "SIGTERM")))
        end
        if left.nil?
          warn("motia runner: SIGTERM while draining (#{@drain_reason}); still finishing the work in flight")
        else
          warn("motia runner: SIGTERM: draining #{left} invocation(s) in flight, then exiting")
        end
      end
      # :stopped: the process is exiting anyway.
    rescue ::Exception => e # rubocop:disable Lint/RescueException
      warn("motia runner: internal error on SIGTERM: #{e.class}: #{e.message}")
    end

    # Start draining unless a drain runs already: no new work, then the drain thread. The block
    # runs first, under the lock. Returns the invocations in flight, nil when already draining
    # (or stopped).
    def start_drain(reason, grace)
      @drain_mutex.synchronize do
        return nil unless @state == :ready

        yield if block_given?
        @state = :draining
        @drain_reason = reason
        @invocations.stop_accepting
        @drained = Thread.new { drain(reason, grace) }
        @drained.name = "motia-drain"
        @invocations.in_flight
      end
    end

    # Finish what is in flight (the reader keeps running: handlers still need their CallReplies),
    # up to `grace` seconds (nil: all of it), flush, half-close. The core then ends the stream;
    # if it does not, exit anyway.
    def drain(reason, grace)
      left = @invocations.drain(grace)
      warn("motia runner: #{reason}: #{left} invocation(s) still running after #{grace}s; abandoning them") if left.positive?
      @outbox.flush(CLOSE_WAIT_SECONDS)
      @outbox.close
      MotiaRunner.drained!
      sleep(CLOSE_WAIT_SECONDS)
      warn("motia runner: the core did not close the stream #{CLOSE_WAIT_SECONDS}s after the drain; exiting")
      Process.exit!(ExitCode::OK)
    rescue ::Exception => e # rubocop:disable Lint/RescueException
      warn("motia runner: internal error while draining: #{e.class}: #{e.message}")
      Process.exit!(ExitCode::OK)
    end

    # -- writing ------------------------------------------------------------------------------

    def hello
      PB::RunnerMessage.new(hello: PB::Hello.new(
        protocol_min: PROTOCOL_VERSION, protocol_max: PROTOCOL_VERSION,
        runner_instance_id: SecureRandom.uuid, language: "ruby",
        runtime_version: Session.runtime_version,
        sdk_version: VERSION, concurrency_slots: @settings.slots, secret: @settings.secret,
        pid: Process.pid, capabilities: CAPABILITIES
      ))
    end

    # "ruby 3.1.2p20", with " +YJIT" when the JIT runs (as RUBY_DESCRIPTION says it): the core's
    # /__motia/runners shows it.
    def self.runtime_version
      jit = defined?(::RubyVM::YJIT) && ::RubyVM::YJIT.enabled? ? " +YJIT" : ""
      "#{RUBY_ENGINE} #{RUBY_VERSION}p#{RUBY_PATCHLEVEL}#{jit}"
    end

    def status_name(code)
      GRPC::Core::StatusCodes.constants.find { |name| GRPC::Core::StatusCodes.const_get(name) == code } || code
    end
  end
end
