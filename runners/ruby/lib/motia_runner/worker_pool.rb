# frozen_string_literal: true

module MotiaRunner
  # An elastic pool of threads that run handlers.
  #
  # Up to `max_threads` run; beyond that a job waits for a thread. Threads idle for
  # `idle_seconds` exit, so a burst of invocations does not leave hundreds of threads behind.
  # Handlers block freely (sleep, I/O, a context call waiting for the core's reply): the reader and
  # the writer have threads of their own. A job that raises is reported on stderr; the pool keeps
  # going.
  #
  # Wake-ups are rationed, because under the GVL they are most of a short handler's cost (each is
  # a futex wake, a context switch and a GVL hand-off; waking one thread per job cost the runner
  # about as much CPU as running the jobs): at most one thread is on its way to the queue at a time
  # (`@waking`). The one that arrives takes a job and, if more are queued, sends the next. A busy
  # thread that finishes its job takes the next queued one itself, so a burst of short jobs
  # mostly runs on one thread while the thread on its way waits for the GVL. A job never waits
  # behind a handler that blocks: blocking releases the GVL, and the thread on its way takes the
  # job then.
  #
  # Invariant (under @mutex): jobs queued and a thread to spare (idle, or fewer than max) imply a
  # thread on its way (@waking).
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
      @waking = false
      @wakes = 0
    end

    def submit(&job)
      @mutex.synchronize do
        @jobs << job
        send_one_locked unless @waking
      end
      nil
    end

    def size
      @mutex.synchronize { @threads }
    end

    # Threads woken or started for jobs so far (tests and measurements).
    def wakes
      @mutex.synchronize { @wakes }
    end

    private

    # Wake an idle thread, or start one while fewer than max run; neither: the job waits for a
    # busy thread to finish.
    def send_one_locked
      if @idle.positive?
        @work.signal
      elsif @threads < @max_threads
        spawn_locked
      else
        return
      end
      @waking = true
      @wakes += 1
    end

    def spawn_locked
      @threads += 1
      @spawned += 1
      thread = Thread.new { work }
      thread.name = "#{@name}-#{@spawned}"
      thread.report_on_exception = false
    end

    def work
      arrived = true # a new thread is the one on its way
      loop do
        job = take(arrived)
        return if job.nil?

        arrived = false
        begin
          job.call
        rescue ::Exception => e # rubocop:disable Lint/RescueException -- never lose a worker to a job
          warn("motia runner: internal error in a worker thread: #{e.class}: #{e.message}\n" \
               "#{(e.backtrace || []).first(10).join("\n")}")
        end
      end
    end

    # The next job, or nil when the thread idled for idle_seconds (it then exits). `arrived`: the
    # caller is the thread on its way (just started).
    def take(arrived)
      @mutex.synchronize do
        @waking = false if arrived
        while @jobs.empty?
          @idle += 1
          started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
          @work.wait(@mutex, @idle_seconds)
          @idle -= 1
          # Any return from the wait counts as the arrival: a signal woke this thread (and no
          # other), or a timeout did, and then clearing the flag at worst costs a spare wake.
          @waking = false
          next unless @jobs.empty? && Process.clock_gettime(Process::CLOCK_MONOTONIC) - started >= @idle_seconds

          @threads -= 1
          return nil
        end
        job = @jobs.shift
        send_one_locked if !@jobs.empty? && !@waking
        job
      end
    end
  end
end
