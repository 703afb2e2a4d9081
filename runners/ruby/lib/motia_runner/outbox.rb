# frozen_string_literal: true

require_relative "errors"
require_relative "proto"
require_relative "result_wire"

module MotiaRunner
  # The single writer of the stream: everything queued between two writes goes out as ONE frame.
  #
  # grpc allows one write at a time per stream and every stream message costs the core ~100 us of
  # CPU whatever its size, so messages are coalesced. Producers (the reader thread, handler
  # threads) call #put, which encodes the RunnerMessage right away, on the producer's thread,
  # and never blocks on the network. grpc's write thread iterates #each (the "requests"
  # Enumerable of the bidi call): each time it wakes it takes everything queued and yields it as
  # one RunnerFrame (split only above the negotiated maximum message size). When idle, a frame
  # carries one envelope: nothing waits for a batch to fill.
  #
  # A RunnerFrame's encoding is the concatenation of its envelopes, each as field 1
  # (tag 0x0A, varint length, bytes), so frames are built from the already-encoded envelopes
  # and the bidi call's marshaller is the identity: nothing is encoded twice, and every size is
  # exact.
  #
  # #close ends the iteration once the queue is drained, which makes grpc half-close the stream.
  #
  # The reader can write instead of the writer thread (#hold, #write_held): while it dispatches a
  # frame, queued envelopes do not wake the writer thread, and when the frame is done the reader
  # writes them itself, so the answers to one frame go out as one frame without a thread
  # hand-off (a futex wake, a context switch and a GVL hand-over each). One write at a time, in
  # queue order: whoever writes holds @write_lock from taking the batch until it is written; a
  # reader that finds the writer thread writing leaves the batch to it.
  class Outbox
    FRAME_TAG = "\x0A".b.freeze # RunnerFrame.messages: field 1, length-delimited
    # How often an idle writer checks whether the core ended the stream (see #stream_over=).
    IDLE_POLL_SECONDS = 0.1

    attr_reader :frames_written, :messages_written
    attr_accessor :max_frame_bytes

    def initialize(max_frame_bytes = DEFAULT_MAX_MESSAGE_BYTES)
      @max_frame_bytes = max_frame_bytes
      @mutex = Mutex.new
      @write_lock = Mutex.new
      @held = false # the reader is dispatching a frame and writes what it queues (#hold)
      @wake = ConditionVariable.new
      @written_cv = ConditionVariable.new
      @queue = []
      @closed = false
      @done = false
      @queued = 0
      @messages_written = 0
      @frames_written = 0
      @stream_over = nil
    end

    # A proc answering true once the core has ended the stream. grpc's client joins its write
    # thread after reading the final status; an idle writer checks this so it can end then.
    def stream_over=(check)
      @stream_over = check
    end

    # The bytes of `message` as an element of RunnerFrame.messages.
    def self.entry(message)
      body = PB::RunnerMessage.encode(message)
      ResultWire.put_varint(FRAME_TAG.dup, body.bytesize) << body
    end

    # Queue one envelope; never blocks. Raises MessageTooLargeError when it could never be sent
    # (above the maximum message size). Returns false when the outbox is closed (dropped).
    def put(message)
      put_entry(self.class.entry(message))
    end

    def put_entry(entry)
      if entry.bytesize > @max_frame_bytes
        raise MessageTooLargeError.new(
          "the message is #{entry.bytesize} bytes, above the #{@max_frame_bytes}-byte limit",
          entry.bytesize, @max_frame_bytes
        )
      end
      @mutex.synchronize do
        return false if @closed || @done

        @queue << entry
        @queued += 1
        @wake.signal unless @held
      end
      true
    end

    # The caller (the reader) will write what is queued from now on: no writer wake-ups until
    # #write_held or #release.
    def hold
      @mutex.synchronize { @held = true }
    end

    # End a hold without writing: the writer thread takes what is queued.
    def release
      @mutex.synchronize do
        @held = false
        @wake.signal unless @queue.empty?
      end
    end

    # End a hold by writing what is queued on the caller's thread, one frame at a time through
    # `write` (the stream's send), unless the writer thread is writing right now (it then takes
    # the batch next) or the writer has ended.
    def write_held(&write)
      return release unless @write_lock.try_lock

      begin
        batch = @mutex.synchronize do
          @held = false
          take unless @done
        end
        write_batch(batch, &write) if batch
      ensure
        @write_lock.unlock
      end
      release # envelopes queued by other threads during the write
    end

    # Stop taking envelopes; the writer ends (and grpc half-closes) once the queue is drained.
    def close
      @mutex.synchronize do
        @closed = true
        @wake.signal
      end
    end

    def closed?
      @closed
    end

    # Wait until everything queued so far has been handed to grpc (or the writer ended).
    # Returns false on timeout.
    def flush(timeout)
      deadline = monotonic + timeout
      @mutex.synchronize do
        target = @queued
        while @messages_written < target && !@done
          left = deadline - monotonic
          return false if left <= 0

          @written_cv.wait(@mutex, left)
        end
      end
      true
    end

    # The writer loop, run by the writer thread: yields one binary frame per wake-up.
    def each(&write)
      loop do
        more = wait_for_work
        ended = @write_lock.synchronize do
          batch = @mutex.synchronize { take }
          write_batch(batch, &write) if batch
          batch.nil? && !more
        end
        break if ended
      end
    ensure
      @mutex.synchronize do
        @done = true
        @queue.clear
        @written_cv.broadcast
      end
    end

    private

    # Wait until something is queued (true) or the writer should end (false: closed, or the
    # stream is over, and nothing queued).
    def wait_for_work
      @mutex.synchronize do
        while @queue.empty?
          return false if @closed
          return false if @stream_over&.call

          @wake.wait(@mutex, IDLE_POLL_SECONDS)
        end
        true
      end
    end

    # Under @mutex: everything queued, or nil.
    def take
      return nil if @queue.empty?

      batch = @queue
      @queue = []
      batch
    end

    # Under @write_lock.
    def write_batch(batch, &write)
      frames(batch) do |frame|
        write.call(frame)
        @frames_written += 1
      end
      @mutex.synchronize do
        @messages_written += batch.size
        @written_cv.broadcast
      end
    end

    def frames(batch)
      frame = nil
      batch.each do |entry|
        if frame && frame.bytesize + entry.bytesize > @max_frame_bytes
          yield frame
          frame = nil
        end
        frame ||= String.new(capacity: batch.size == 1 ? entry.bytesize : 4096, encoding: Encoding::BINARY)
        frame << entry
      end
      yield frame if frame
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
