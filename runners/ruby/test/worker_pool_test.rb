# frozen_string_literal: true

require_relative "test_helper"

class WorkerPoolTest < Minitest::Test
  def test_blocking_jobs_run_concurrently_and_idle_threads_exit
    pool = MotiaRunner::WorkerPool.new(max_threads: 100, idle_seconds: 0.2)
    started = Queue.new
    done = Queue.new
    gate = Queue.new
    40.times { pool.submit { started << 1; gate.pop; done << 1 } }
    # No job waits behind another that blocks: all 40 are running (and blocked) at once.
    40.times { started.pop }
    assert_equal 40, pool.size
    40.times { gate << :go }
    40.times { done.pop }
    deadline = Time.now + 3
    sleep(0.05) while pool.size.positive? && Time.now < deadline
    assert_equal 0, pool.size
  end

  def test_a_blocked_job_does_not_hold_back_the_next_one
    pool = MotiaRunner::WorkerPool.new(max_threads: 2)
    gate = Queue.new
    done = Queue.new
    pool.submit { gate.pop }
    pool.submit { done << :second }
    assert_equal :second, done.pop # the first still blocks
    gate << :go
  end

  def test_a_burst_of_short_jobs_wakes_few_threads
    pool = MotiaRunner::WorkerPool.new(max_threads: 16)
    done = Queue.new
    1000.times { |i| pool.submit { done << i } }
    assert_equal (0...1000).to_a, Array.new(1000) { done.pop }.sort
    # One thread per job was the old cost; now a busy thread takes the queued jobs itself. (A GVL
    # time slice ending mid-burst sends one more: the bound is loose.)
    assert_operator pool.wakes, :<, 100
  end

  def test_jobs_beyond_max_threads_wait_for_a_thread
    pool = MotiaRunner::WorkerPool.new(max_threads: 3)
    gate = Queue.new
    started = Queue.new
    10.times { pool.submit { started << 1; gate.pop } }
    3.times { started.pop }
    sleep(0.05)
    assert_equal 3, pool.size
    assert_equal 0, started.size # the other 7 wait for a free thread
    10.times { gate << :go }
    7.times { started.pop }
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
