# frozen_string_literal: true

module MotiaRunner
  # Reads the stream and dispatches every envelope in order, and runs short handlers right where
  # it reads them ("inline"), without handing them to a worker thread.
  #
  # Why: under the GVL every hand-off between Ruby threads is a futex wake, a context switch and a
  # GVL hand-over (~20 us of CPU here), and a frame passed through the reader, a worker and the
  # writer. A handler that returns within microseconds is cheaper run by the reader itself.
  #
  # The catch: Ruby cannot move a running frame to another thread, and a handler that blocks on
  # the reading thread would stop all reading (a context call waiting for its reply, which only
  # the reader delivers, would wait forever). So reading is a role, not a thread: the thread
  # holding it (the holder) reads and dispatches; a standby thread watches it while it runs a
  # handler inline and takes the role over when the handler
  #   * is about to wait for a context call's reply (#blocking!, from CallRouter): at once, or
  #   * has run for TAKEOVER_SECONDS (sleep, IO, a lock; a computation keeps the GVL, so the
  #     standby only gets it at Ruby's 100 ms time slice).
  # The old holder finishes its handler like a worker would and then ends. The new holder (named
  # motia-reader in turn) starts a new standby, goes on with the envelopes left in the frame,
  # then reads the next frames: envelopes are dispatched in order whoever holds the role. Which
  # handlers run inline is InlinePolicy's decision. The caller of #run only waits for the end, so
  # it returns even if a handler run inline never does.
  #
  # The standby ticks every TAKEOVER_SECONDS while handlers run inline (a run in progress is timed
  # to its TAKEOVER_SECONDS) and sleeps untimed after a tick without any (a reader starting an
  # inline run then wakes it: once per idle period). 10 ms ticks cost more than inline runs saved
  # at a few hundred requests per second (README, "Cost per invocation").
  #
  # With an Outbox and a write proc, the holder also writes the answers to each frame once it is
  # dispatched (Outbox#hold, #write_held), so they need no wake-up of the writer thread either.
  class Reader
    TAKEOVER_SECONDS = 0.05
    # Frames with more envelopes run their handlers on the pool, where one worker wake-up is
    # shared by the whole frame and costs less per invocation than the bookkeeping of inline runs
    # (measured crossover ~96 starts per frame: README, "Cost per invocation").
    INLINE_FRAME_MAX = 64

    # One handler run on the holder's thread.
    class InlineRun
      attr_reader :started
      attr_accessor :taken_over

      def initialize(started)
        @started = started
        @taken_over = false
      end
    end

    # `read`: -> bytes of the next frame, nil at the end (raises when the stream failed);
    # `decode`: bytes -> the frame's envelopes (an Array); `dispatch`: envelope -> anything.
    # With `outbox` and `write` (frame bytes -> the stream's send), the holder writes the answers
    # to each frame itself once the frame is dispatched (Outbox#hold, #write_held).
    def initialize(read:, decode:, dispatch:, outbox: nil, write: nil, takeover_seconds: TAKEOVER_SECONDS)
      @read = read
      @outbox = write && outbox
      @write = write
      @decode = decode
      @dispatch = dispatch
      @takeover_seconds = takeover_seconds
      @mutex = Mutex.new
      @watch = ConditionVariable.new # the standby's
      @ended = ConditionVariable.new
      @holder = nil
      @envelopes = [] # the current frame's envelopes not yet dispatched (the holder's)
      @frame_size = 0
      @inline = nil   # the holder's InlineRun while one runs
      @handoff = false
      @inline_runs = 0
      @standby_idle = false
      @over = false
      @outcome = nil
      @takeovers = 0
    end

    # Takeovers so far (tests and measurements).
    def takeovers
      @mutex.synchronize { @takeovers }
    end

    def over?
      @over
    end

    # Read until the stream ends; returns then, or raises what ended it (a stream failure, or an
    # error `dispatch` raised). Reading happens on threads of the reader's own: the caller only
    # waits, so it returns even when a handler that ran inline never does.
    def run
      @mutex.synchronize do
        # The reader waits for this lock (held until the wait below) so it sees itself as holder.
        @holder = start_thread("motia-reader") do
          @mutex.synchronize { nil }
          read_loop
        end
        start_standby
        @ended.wait(@mutex) until @over
      end
      raise @outcome if @outcome

      nil
    end

    # True while the holder dispatches a frame small enough to run handlers inline.
    def inline_frame?
      @frame_size <= INLINE_FRAME_MAX
    end

    # Called by the holder while dispatching: run the block (a handler) on this thread, watched.
    def inline
      run = InlineRun.new(monotonic)
      @mutex.synchronize do
        @inline = run
        @handoff = false
        @inline_runs += 1
        @watch.signal if @standby_idle
      end
      Thread.current[:motia_inline] = run
      begin
        yield run
      ensure
        Thread.current[:motia_inline] = nil
        @mutex.synchronize { @inline = nil if @inline.equal?(run) }
      end
    end

    # The inline run on this thread is about to block (a context call): hand reading over now.
    def blocking!
      run = Thread.current[:motia_inline]
      return if run.nil?

      @mutex.synchronize do
        next unless @inline.equal?(run)

        @handoff = true
        @watch.signal
      end
    end

    private

    def read_loop
      mine = Thread.current
      loop do
        if @envelopes.empty?
          # Before waiting for the next frame, write what this one's handling queued (also a
          # call of a handler the holder's predecessor ran, which must not wait for a frame).
          @outbox&.write_held(&@write)
          bytes = @read.call
          return finish(nil) if bytes.nil?

          @envelopes = @decode.call(bytes)
          @frame_size = @envelopes.size
          @outbox&.hold
          next
        end
        @dispatch.call(@envelopes.shift)
        # Taken over during an inline run: the new holder has the rest of the frame.
        return unless @holder.equal?(mine)
      end
    rescue ::Exception => e # rubocop:disable Lint/RescueException -- the waiting caller re-raises it
      finish(e)
    ensure
      successor_if_killed(mine)
    end

    # A handler that ran inline and called Thread.exit (or was killed) took the holder's thread
    # with it: a new thread carries on reading.
    def successor_if_killed(mine)
      @mutex.synchronize do
        return if @over || !@holder.equal?(mine)

        @inline = nil
        @holder = start_thread("motia-reader") do
          @mutex.synchronize { nil }
          read_loop
        end
      end
    end

    def finish(outcome)
      @mutex.synchronize do
        unless @over
          @over = true
          @outcome = outcome
        end
        @watch.broadcast
        @ended.broadcast
      end
      nil
    end

    # Under @mutex.
    def start_standby
      start_thread("motia-standby") { standby }
    end

    def standby
      @mutex.synchronize do
        seen = @inline_runs
        loop do
          return if @over

          run = @inline
          if run && (@handoff || monotonic - run.started >= @takeover_seconds)
            take_over(run)
            break
          end
          if run.nil? && seen == @inline_runs
            @standby_idle = true
            @watch.wait(@mutex)
            @standby_idle = false
          else
            seen = @inline_runs
            wait = run ? @takeover_seconds - (monotonic - run.started) : @takeover_seconds
            @watch.wait(@mutex, [wait, 0.0005].max)
          end
        end
      end
      read_loop
    end

    # Under @mutex: this thread becomes the holder; a new standby watches it.
    def take_over(run)
      run.taken_over = true
      @inline = nil
      @handoff = false
      @holder = Thread.current
      @holder.name = "motia-reader"
      @takeovers += 1
      start_standby
    end

    def start_thread(name, &block)
      thread = Thread.new(&block)
      thread.name = name
      thread.report_on_exception = false
      thread
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
