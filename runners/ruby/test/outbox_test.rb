# frozen_string_literal: true

require_relative "test_helper"

class OutboxTest < Minitest::Test
  PB = MotiaRunner::PB

  def pong(nonce) = PB::RunnerMessage.new(pong: PB::Pong.new(nonce: nonce))

  def test_frames_are_the_protobuf_encoding_of_every_queued_envelope
    outbox = MotiaRunner::Outbox.new
    big = PB::RunnerMessage.new(result: PB::InvocationResult.new(
      invocation_id: "i", completed: PB::Completed.new(payload_json: ("x" * 300).b)
    ))
    messages = [pong(1), big, pong(300)]
    messages.each { |m| outbox.put(m) }
    outbox.close
    frames = outbox.to_enum(:each).to_a
    assert_equal 1, frames.size
    assert_equal PB::RunnerFrame.encode(PB::RunnerFrame.new(messages: messages)), frames[0]
    assert_equal 3, outbox.messages_written
  end

  def test_splits_above_the_limit_and_refuses_what_can_never_fit
    outbox = MotiaRunner::Outbox.new(100)
    5.times { |i| outbox.put(PB::RunnerMessage.new(call: PB::Call.new(request_id: i + 1, invocation_id: "a" * 30))) }
    outbox.close
    frames = outbox.to_enum(:each).to_a
    assert_operator frames.size, :>, 1
    assert(frames.all? { |f| f.bytesize <= 100 })
    assert_equal 5, frames.sum { |f| PB::RunnerFrame.decode(f).messages.size }
    error = assert_raises(MotiaRunner::MessageTooLargeError) do
      MotiaRunner::Outbox.new(100).put(PB::RunnerMessage.new(call: PB::Call.new(invocation_id: "a" * 200)))
    end
    assert_operator error.size, :>, 100
  end

  def test_writer_coalesces_what_queues_while_it_writes
    outbox = MotiaRunner::Outbox.new
    outbox.put(pong(1))
    sizes = []
    writer = Thread.new do
      outbox.each do |frame|
        sizes << PB::RunnerFrame.decode(frame).messages.size
        sleep(0.05) if sizes.size == 1 # a slow write: the next 50 envelopes queue meanwhile
      end
    end
    sleep(0.01)
    50.times { |i| outbox.put(pong(i)) }
    assert outbox.flush(2)
    outbox.close
    writer.join(2)
    assert_equal [1, 50], sizes
  end

  def test_idle_writer_ends_when_the_stream_is_over
    outbox = MotiaRunner::Outbox.new
    over = false
    outbox.stream_over = -> { over }
    writer = Thread.new { outbox.each { |_| nil } }
    sleep(0.05)
    assert writer.alive?
    over = true
    assert writer.join(1)
    refute outbox.put(pong(1)) # dropped: nobody writes any more
  end
end
