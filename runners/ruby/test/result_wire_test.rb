# frozen_string_literal: true

require_relative "test_helper"

# ResultWire writes completed results by hand: the bytes must be google-protobuf's, byte for byte.
class ResultWireTest < Minitest::Test
  PB = MotiaRunner::PB
  Response = MotiaRunner::HttpBody::Response

  def generated(invocation_id, fencing_token, completed)
    result = PB::InvocationResult.new(invocation_id: invocation_id, fencing_token: fencing_token, completed: completed)
    MotiaRunner::Outbox.entry(PB::RunnerMessage.new(result: result))
  end

  def test_payload_results_match_the_generated_encoding
    ["".b, "null".b, '{"ok":true}'.b, ("x" * 300).b, "{\"s\":\"h\u00e9\"}".b].each do |payload|
      [0, 1, 127, 128, 2**40, 2**64 - 1].each do |token|
        id = "inv-#{token}-#{payload.bytesize}"
        assert_equal generated(id, token, PB::Completed.new(payload_json: payload)),
                     MotiaRunner::ResultWire.completed_entry(id, token, payload)
      end
    end
  end

  def test_http_results_match_the_generated_encoding
    binary = (0..255).map(&:chr).join.b
    [
      Response.new(0, "".b, "".b, :BODY_KIND_NONE),
      Response.new(200, "".b, '{"ok":true}'.b, :BODY_KIND_JSON),
      Response.new(404, '{"x-a":"b"}'.b, "nicht gefunden \u00fc".b, :BODY_KIND_TEXT),
      Response.new(599, "".b, binary * 700, :BODY_KIND_BINARY)
    ].each do |r|
      expected = generated("\u00e9-id", 7, PB::Completed.new(http_response: PB::HttpResponse.new(
        status: r.status, headers_json: r.headers_json, body: r.body, body_kind: r.body_kind
      )))
      assert_equal expected, MotiaRunner::ResultWire.completed_entry("\u00e9-id", 7, r)
    end
  end

  def test_the_core_side_decodes_what_was_written
    entry = MotiaRunner::ResultWire.completed_entry("abc", 3, Response.new(201, "".b, "hi".b, :BODY_KIND_TEXT))
    message = PB::RunnerFrame.decode(entry).messages.first
    assert_equal :result, message.kind
    assert_equal 201, message.result.completed.http_response.status
    assert_equal :BODY_KIND_TEXT, message.result.completed.http_response.body_kind
  end
end
