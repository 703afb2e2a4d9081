# frozen_string_literal: true

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
    # Sizes are computed first so the entry is written into one buffer, front to back.
    def completed_entry(invocation_id, fencing_token, outcome)
      id = raw(invocation_id)
      if outcome.is_a?(::String)
        inner = raw(outcome)
        inner_tag = 0x0A # Completed.payload_json; absent when empty
        completed_size = inner.empty? ? 0 : field_size(inner.bytesize)
      else
        inner = http_response(outcome)
        inner_tag = 0x12 # Completed.http_response, present even when empty
        completed_size = field_size(inner.bytesize)
      end
      result_size = field_size(id.bytesize) + field_size(completed_size)
      result_size += 1 + varint_size(fencing_token) unless fencing_token.zero?
      message_size = field_size(result_size)
      out = ::String.new(capacity: field_size(message_size), encoding: ::Encoding::BINARY)
      put_varint(out << 0x0A, message_size) # RunnerFrame.messages
      put_varint(out << 0x1A, result_size) # RunnerMessage.result
      put_varint(out << 0x0A, id.bytesize) << id
      put_varint(out << 0x10, fencing_token) unless fencing_token.zero?
      put_varint(out << 0x1A, completed_size)
      put_varint(out << inner_tag, inner.bytesize) << inner unless completed_size.zero?
      out
    end

    def http_response(response)
      out = ::String.new(capacity: response.body.bytesize + response.headers_json.bytesize + 16,
                         encoding: ::Encoding::BINARY)
      put_varint(out << 0x08, response.status) unless response.status.zero?
      headers = raw(response.headers_json)
      put_varint(out << 0x12, headers.bytesize) << headers unless headers.empty?
      body = raw(response.body)
      put_varint(out << 0x1A, body.bytesize) << body unless body.empty?
      kind = BODY_KINDS.fetch(response.body_kind)
      put_varint(out << 0x20, kind) unless kind.zero?
      out
    end

    # Bytes to append to a binary buffer as they are: a String in another encoding with
    # non-ASCII characters would change the buffer's encoding (or fail to append), so it is
    # copied as binary; ASCII-only text and binary Strings are appended without a copy.
    def raw(bytes)
      bytes.encoding == ::Encoding::BINARY || bytes.ascii_only? ? bytes : bytes.b
    end

    # Size of a length-delimited field with a one-byte tag and `size` bytes of content.
    def field_size(size)
      1 + varint_size(size) + size
    end

    def varint_size(value)
      size = 1
      while value >= 0x80
        value >>= 7
        size += 1
      end
      size
    end

    # Append `value` as a protobuf varint to the binary String `out`; returns `out`.
    def put_varint(out, value)
      while value >= 0x80
        out << ((value & 0x7F) | 0x80)
        value >>= 7
      end
      out << value
    end
  end
end
