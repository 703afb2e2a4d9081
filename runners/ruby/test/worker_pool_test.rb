# frozen_string_literal: true

require_relative "test_helper"

class WorkerPoolTest < Minitest::Test
  def test_blocking_jobs_run_concurrently_and_idle_threads_exit
    pool = MotiaRunner::WorkerPool.new(max_threads: 100, idle_seconds: 0.2)
    done = Queue.new
    gate = Queue.new
    40.times { pool.submit { gate.pop; done << 1 } }
    40.times { gate << :go } # every job was waiting at once: 40 threads
    40.times { done.pop }
    assert_equal 40, pool.size
    deadline = Time.now + 3
    sleep(0.05) while pool.size.positive? && Time.now < deadline
    assert_equal 0, pool.size
  end

  def test_a_failing_job_does_not_lose_the_worker
    pool = MotiaRunner::WorkerPool.new(max_threads: 1)
    done = Queue.new
    _out, err = capture_io do
      pool.submit { raise "boom" }
      pool.submit { done << :ok }
      assert_equal :ok, done.pop
    end
    assert_match(/boom/, err)
  end
end
