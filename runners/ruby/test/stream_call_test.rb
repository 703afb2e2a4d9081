# frozen_string_literal: true

require_relative "test_helper"

# MotiaRunner::StreamCall: the stream on grpc's core call (the rest of it runs against real cores:
# tests/test_ruby_wire*.py, tests/test_e2e_ruby.py).
class StreamCallTest < Minitest::Test
  def test_an_unreachable_core_is_a_bad_status_not_an_internal_error
    call = MotiaRunner::StreamCall.new("unix:/nonexistent/motia-core.sock", "grpc.enable_http_proxy" => 0)
    outbox = MotiaRunner::Outbox.new
    error = assert_raises(GRPC::BadStatus) do
      call.start(outbox) # fails here, or the first read does
      call.read
    end
    outbox.close
    assert_equal GRPC::Core::StatusCodes::UNAVAILABLE, error.code
    assert_equal GRPC::Core::StatusCodes::UNAVAILABLE, call.status.code
  end
end
