# frozen_string_literal: true

require_relative "outbox"

module MotiaRunner
  # A completed InvocationResult, as an element of RunnerFrame.messages, encoded by hand.
  #
  # Building the protobuf objects (RunnerMessage > InvocationResult > Completed > HttpResponse)
  # and encoding them cost more than a no-op handler itself (about 20 us against 8 here, measured
  # with runners/ruby/scripts/api_cpu.py's machine); every API call and event pays it, so the
  # common outcome is written directly. The bytes are exactly what google-protobuf writes for the
  # same message (test/result_wire_test.rb compares them), which the core decodes like any other.
  # Failures and everything else still go through the generated classes.
  #
  #   RunnerMessage.result = 3; InvocationResult: invocation_id = 1, fencing_token = 2,
  #   completed = 3; Completed: payload_json = 1, http_response = 2; HttpResponse: status = 1,
  #   headers_json = 2, body = 3, body_kind = 4 (proto/motia/runner/v1/runner.proto).
  module ResultWire
    # HttpBody::Response#body_kind -> HttpResponse.BodyKind's number.
    BODY_KINDS = { BODY_KIND_NONE: 0, BODY_KIND_JSON: 1, BODY_KIND_TEXT: 2, BODY_KIND_BINARY: 3 }.freeze

    module_function

    # `outcome`: the handler's JSON bytes (empty: it returned nothing), or an HttpBody::Response.
    def completed_entry(invocation_id, fencing_token, outcome)
      completed = if outcome.is_a?(::String)
                    outcome.empty? ? "".b : bytes_field(0x0A, outcome)
                  else
                    bytes_field(0x12, http_response(outcome))
                  end
      result = bytes_field(0x0A, invocation_id)
      result << 0x10 << varint(fencing_token) unless fencing_token.zero?
      result << bytes_field(0x1A, completed)
      bytes_field(0x0A, bytes_field(0x1A, result)) # RunnerFrame.messages element > RunnerMessage.result
    end

    def http_response(response)
      out = "".b
      out << 0x08 << varint(response.status) unless response.status.zero?
      out << bytes_field(0x12, response.headers_json) unless response.headers_json.empty?
      out << bytes_field(0x1A, response.body) unless response.body.empty?
      kind = BODY_KINDS.fetch(response.body_kind)
      out << 0x20 << varint(kind) unless kind.zero?
      out
    end

    # Tag, length, bytes (a length-delimited field).
    def bytes_field(tag, bytes)
      out = varint(bytes.bytesize).prepend(tag.chr)
      out << (bytes.encoding == ::Encoding::BINARY ? bytes : bytes.b)
    end

    def varint(value)
      Outbox.varint(value)
    end
  end
end
