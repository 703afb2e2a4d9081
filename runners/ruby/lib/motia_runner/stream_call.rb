# frozen_string_literal: true

require_relative "proto"

module MotiaRunner
  # RunnerService.Connect driven on grpc's core call directly, instead of through
  # GRPC::BidiCall (ClientStub#bidi_streamer).
  #
  # Why: BidiCall reads on the thread that iterates its Enumerator, so reading can never move to
  # another thread. The Reader (reader.rb) runs short handlers on the reading thread and, when
  # one blocks, lets another thread carry on reading; that needs a read any thread can call
  # (one at a time). The operations are BidiCall's own (grpc 1.51): initial metadata, one
  # RECV_MESSAGE per #read, the status once the core ends the stream, SEND_MESSAGE per frame from
  # a writer thread, SEND_CLOSE_FROM_CLIENT when the outbox closes.
  class StreamCall
    include GRPC::Core::CallOps

    def initialize(address, channel_args)
      channel = GRPC::ClientStub.setup_channel(nil, address, :this_channel_is_insecure, channel_args)
      @call = channel.create_call(nil, nil, CONNECT_METHOD, nil, GRPC::Core::TimeConsts::INFINITE_FUTURE)
      @metadata_received = false
      @status = nil
      @writer = nil
    end

    # The final status once the stream ended (nil before).
    attr_reader :status

    # Send the initial metadata and start the writer thread: every frame `outbox.each` yields
    # is one stream message; when it ends, the runner half-closes.
    def start(outbox)
      begin
        @call.run_batch(SEND_INITIAL_METADATA => {})
      rescue GRPC::Core::CallError
        final_status # the core is unreachable: GRPC::BadStatus (UNAVAILABLE) says why
        raise
      end
      @writer = Thread.new { write_loop(outbox) }
      @writer.name = "motia-writer"
      @writer.report_on_exception = false
      self
    end

    # The next message's bytes, or nil once the core ended the stream with OK. Raises
    # GRPC::BadStatus when it ended with another status. One caller at a time.
    def read
      ops = { RECV_MESSAGE => nil }
      ops[RECV_INITIAL_METADATA] = nil unless @metadata_received
      batch = begin
        @call.run_batch(ops)
      rescue GRPC::Core::CallError
        nil # the call is broken: the status says why
      end
      @metadata_received = true
      message = batch&.message
      return message unless message.nil?

      final_status
      nil
    end

    # Send one frame (one writer at a time: Outbox's write lock). False when the stream is gone
    # (the reader reports how it ended).
    def write(frame)
      @call.run_batch(SEND_MESSAGE => frame)
      true
    rescue GRPC::Core::CallError
      false
    end

    private

    # Wait for the call's status; raises GRPC::BadStatus unless it is OK.
    def final_status
      batch = @call.run_batch(RECV_STATUS_ON_CLIENT => nil)
      @status = batch.status
      batch.check_status
    end

    def write_loop(outbox)
      outbox.each do |frame|
        break unless write(frame)
      end
      begin
        @call.run_batch(SEND_CLOSE_FROM_CLIENT => nil)
      rescue GRPC::Core::CallError
        nil
      end
    rescue StandardError => e
      @call.cancel_with_status(GRPC::Core::StatusCodes::UNKNOWN, "motia runner: the writer failed: #{e.class}: #{e.message}")
    end
  end
end
