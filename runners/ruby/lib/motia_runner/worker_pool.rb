# frozen_string_literal: true

module MotiaRunner
  # An elastic pool of threads that run handlers.
  #
  # A job starts at once on an idle thread, or on a new one while fewer than `max_threads` run;
  # beyond that it waits for a thread. Threads idle for `idle_seconds` exit, so a burst of
  # invocations does not leave hundreds of threads behind. Handlers block freely (sleep, I/O,
  # a context call waiting for the core's reply): the reader and the writer have threads of
  # their own. A job that raises is reported on stderr; the pool keeps going.
  class WorkerPool
    attr_reader :max_threads

    def initialize(max_threads:, idle_seconds: 30.0, name: "motia-worker")
      @max_threads = max_threads
      @idle_seconds = idle_seconds
      @name = name
      @mutex = Mutex.new
      @work = ConditionVariable.new
      @jobs = []
      @threads = 0
      @idle = 0
      @spawned = 0
    end

    def submit(&job)
      @mutex.synchronize do
        @jobs << job
        if @jobs.size > @idle && @threads < @max_threads
          spawn_locked
        else
          @work.signal
        end
      end
      nil
    end

    def size
      @mutex.synchronize { @threads }
    end

    private

    def spawn_locked
      @threads += 1
      @spawned += 1
      thread = Thread.new { work }
      thread.name = "#{@name}-#{@spawned}"
      thread.report_on_exception = false
    end

    def work
      loop do
        job = take
        return if job.nil?

        begin
          job.call
        rescue ::Exception => e # rubocop:disable Lint/RescueException -- never lose a worker to a job
          warn("motia runner: internal error in a worker thread: #{e.class}: #{e.message}\n" \
               "#{(e.backtrace || []).first(10).join("\n")}")
        end
      end
    end

    def take
      @mutex.synchronize do
        while @jobs.empty?
          @idle += 1
          started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
          @work.wait(@mutex, @idle_seconds)
          @idle -= 1
          next unless @jobs.empty? && Process.clock_gettime(Process::CLOCK_MONOTONIC) - started >= @idle_seconds

          @threads -= 1
          return nil
        end
        @jobs.shift
      end
    end
  end
end
