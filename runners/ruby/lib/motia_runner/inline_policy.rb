# frozen_string_literal: true

module MotiaRunner
  # Which steps' handlers the reader runs inline (reader.rb), learned per step from its runs.
  #
  # A step starts on the worker pool, where each run is timed (wall clock: decode, handler,
  # result) and watched for context calls. A run within FAST_SECONDS earns a credit, a slower one
  # costs SLOW_COST; at INLINE_CREDIT the step runs inline, and back at zero it returns to the
  # pool (and earns its way back). So a handler that is short nearly every time runs inline,
  # while the odd slow run (the OS preempting the thread, a GC pause) does not send it away, and
  # one slow more often than once in SLOW_COST runs stays on the pool. A run that waited for a
  # call's reply (emit, state, streams; log lines do not wait) sends the step to the pool for
  # good: its handler makes calls, and an inline run that makes one costs a takeover. A run taken
  # over (it ran Reader::TAKEOVER_SECONDS inline: sleep, IO, a long computation, or the machine
  # did not schedule the thread) sends the step back with a debt that doubles with every takeover
  # (a debt of 32 fast runs after the first, 4,096 after the eighth), so a handler that blocks
  # now and then stalls reading ever more rarely, while a spurious takeover costs little. Steps
  # on the pool for good are no longer watched. Every step loaded afresh (hot reload) starts again.
  #
  # The record lives on the step (LoadedStep#inline_record): a step replaced by a reload is
  # forgotten with it.
  class InlinePolicy
    FAST_SECONDS = 0.001
    INLINE_CREDIT = 16
    SLOW_COST = 16
    MAX_CREDIT = 64
    MAX_DOUBLINGS = 8

    # credit: Integer; verdict: nil (watched on the pool), :inline, or :pool (for good);
    # takeovers: how many runs of the step were taken over
    Record = Struct.new(:credit, :verdict, :takeovers)

    def initialize(enabled: true)
      @enabled = enabled
      @mutex = Mutex.new
    end

    # True when the step's handler runs inline (read on the reader thread without the lock: one
    # run more or less on the pool after a change of verdict is harmless).
    def inline?(step)
      step.inline_record&.verdict == :inline
    end

    # True while runs of the step are still being watched on the pool.
    def probing?(step)
      @enabled && step.inline_record&.verdict.nil?
    end

    # :inline, :pool, or nil while probing.
    def verdict(step)
      step.inline_record&.verdict
    end

    # One run of the step: `seconds` of wall clock, whether it waited for a call's reply, whether
    # the reader was taken over during it. Returns the new verdict (:inline, :watched, :pool)
    # when this run changed it, else nil.
    def observe(step, seconds, blocked:, taken_over: false)
      return unless @enabled
      return if settled?(step.inline_record, seconds, blocked, taken_over)

      @mutex.synchronize do
        record = (step.inline_record ||= Record.new(0, nil, 0))
        next if record.verdict == :pool

        before = record.verdict
        judge(record, seconds, blocked, taken_over)
        record.verdict || :watched unless record.verdict == before
      end
    end

    private

    # A short run of a step that runs inline with full credit changes nothing: skip the lock (a
    # stale read at worst takes the lock once more).
    def settled?(record, seconds, blocked, taken_over)
      !record.nil? && record.verdict == :inline && record.credit >= MAX_CREDIT && seconds <= FAST_SECONDS &&
        !blocked && !taken_over
    end

    # Under @mutex.
    def judge(record, seconds, blocked, taken_over)
      if blocked
        record.verdict = :pool
      elsif taken_over
        record.takeovers += 1
        record.credit = -(SLOW_COST << [record.takeovers, MAX_DOUBLINGS].min)
        record.verdict = nil
      elsif seconds > FAST_SECONDS
        record.credit = [record.credit - SLOW_COST, [record.credit, -MAX_CREDIT].min].max
        record.verdict = nil if record.credit <= 0
      else
        record.credit = [record.credit + 1, MAX_CREDIT].min
        record.verdict = :inline if record.credit >= INLINE_CREDIT
      end
    end
  end
end
