# frozen_string_literal: true

require_relative "../motia/errors"

module MotiaRunner
  # One invocation in flight: the handler's thread while it runs user code, and whether the core
  # cancelled it. Shared by the reader thread (#cancel) and the worker thread (#user_code, #finish).
  #
  # How a Cancel stops a handler (Ruby cannot kill a thread safely):
  #   1. the context is flagged: `ctx.cancelled?` turns true and every later call raises
  #      Motia::Cancelled (cooperative handlers stop there);
  #   2. Motia::Cancelled is raised into the handler's thread with Thread#raise, masked to
  #      `:on_blocking` (Thread.handle_interrupt): it lands only where the thread blocks (sleep,
  #      IO, Queue#pop, ConditionVariable#wait, a context call waiting for its reply), never in
  #      the middle of computing, so a handler is not torn apart at an arbitrary line; a handler
  #      busy computing is interrupted at its next blocking operation, or never (the core then
  #      restarts the runner after Cancel.grace_ms);
  #   3. the other threads of the invocation waiting for a call's reply are woken with it.
  # The interrupt is raised at most once, and only while the thread is inside #user_code (checked
  # under the mutex); one still pending as the handler returns is taken back there, with
  # Motia::Cancelled masked (`:never`), so it never reaches the runner's code or the worker's next
  # job.
  class Running
    attr_reader :invocation_id, :fencing_token

    SHIELD = { ::Motia::Cancelled => :never }.freeze
    INTERRUPTIBLE = { ::Motia::Cancelled => :on_blocking }.freeze
    DELIVER = { ::Motia::Cancelled => :immediate }.freeze

    def initialize(invocation_id, fencing_token)
      @invocation_id = invocation_id
      @fencing_token = fencing_token
      @mutex = Mutex.new
      @reason = nil     # set by #cancel
      @context = nil    # the Motia::Context, once made
      @thread = nil     # the thread running user code, while it does
      @interrupted = false
      @started = false  # a worker picked the invocation up
      @finished = false
    end

    # The worker picks the invocation up. False when it was cancelled before that (its
    # Cancelled is sent already): do nothing.
    def begin!
      @mutex.synchronize do
        return false if @finished

        @started = true
      end
    end

    def started?
      @mutex.synchronize { @started }
    end

    def cancelled?
      @mutex.synchronize { !@reason.nil? }
    end

    def context=(context)
      @mutex.synchronize do
        @context = context
        context.cancel(@reason) if @reason
      end
    end

    # Cancel (reader thread). Returns :finished when the invocation is already over (its result
    # is sent: the caller confirms at once), :not_started when no worker picked it up yet (it
    # never will: the caller confirms at once and frees the slot), :again when it was already
    # cancelled (its Cancelled is on the way), or the thread that was interrupted (nil if none
    # runs user code right now): the worker sends Cancelled once the handler has returned.
    def cancel(reason)
      @mutex.synchronize do
        return :finished if @finished
        return :again if @reason

        @reason = reason
        unless @started
          @finished = true
          return :not_started
        end
        @context&.cancel(reason)
        if @thread
          @interrupted = true
          @thread.raise(::Motia::Cancelled.new(reason))
        end
        @thread
      end
    end

    # Run the block (user code) on the current thread so that a cancel can interrupt it. Raises
    # Motia::Cancelled at once when the invocation is already cancelled.
    def user_code
      Thread.handle_interrupt(SHIELD) do
        @mutex.synchronize do
          raise ::Motia::Cancelled, @reason if @reason

          @thread = Thread.current
        end
        begin
          Thread.handle_interrupt(INTERRUPTIBLE) { yield }
        ensure
          interrupted = @mutex.synchronize do
            @thread = nil
            @interrupted
          end
          discard_interrupt if interrupted
        end
      end
    end

    # The worker is done with the invocation (worker thread). Returns the cancel reason when it
    # was cancelled (send Cancelled, not the result), nil otherwise (send the result).
    def finish
      @mutex.synchronize do
        @finished = true
        @reason
      end
    end

    private

    # The handler returned (or raised something else) while our interrupt was on its way: take it,
    # so it never reaches the runner's code or the worker's next job. (Ruby 3.1's
    # Thread.pending_interrupt?(klass) crashes: only the argument-less form is used.)
    def discard_interrupt
      3.times do
        break unless Thread.pending_interrupt?

        begin
          Thread.handle_interrupt(DELIVER) { Thread.pass }
        rescue ::Motia::Cancelled
          nil
        end
      end
    end
  end
end
