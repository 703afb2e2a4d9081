# frozen_string_literal: true

require_relative "json_codec"
require_relative "proto"

module MotiaRunner
  # API bodies as bytes (StartInvocation.http_body / Completed.http_response, docs/protocol.md).
  #
  # The core sends an API request's body once, as bytes, because this runner announces the
  # `http_body_bytes` capability: `body` and `rawBody` are built here, and a binary body (say
  # application/octet-stream or image/png) stays a binary String (ASCII-8BIT), never decoded. The
  # handler's response goes back split: status, headers as JSON, and the body encoded once (a
  # binary String, or any String that is not valid in its encoding, as bytes; another String as
  # UTF-8 text; anything else as JSON), which the core writes to the client without decoding it. A
  # result the core must reject (not a Hash, a status that is not an Integer 100-599) goes back as
  # payload_json instead, so the core names what is wrong with it.
  module HttpBody
    EMPTY = "".b.freeze

    # An HttpResponse's fields (result_wire.rb encodes them); body_kind is a BodyKind symbol.
    Response = Struct.new(:status, :headers_json, :body, :body_kind)

    module_function

    # Set "body" and "rawBody" on the decoded API payload (a Motia::Data) from the raw bytes.
    def add_body(request, http_body)
      raw = http_body.raw
      case http_body.encoding
      when :BODY_ENCODING_BINARY
        request["body"] = raw
        request["rawBody"] = raw
        return
      when :BODY_ENCODING_JSON
        request["body"] = JsonCodec.load(raw)
      end
      text = raw.dup.force_encoding(::Encoding::UTF_8)
      text = text.scrub unless text.valid_encoding?
      request["body"] = text if http_body.encoding == :BODY_ENCODING_TEXT
      request["rawBody"] = text
    end

    # The handler's {status, headers, body} (String or Symbol keys) as a Response, or nil when
    # the core should see the whole value as JSON. Raises NotJsonError for headers or a body JSON
    # cannot carry.
    def response(value)
      return nil unless value.is_a?(::Hash)

      status = field(value, "status")
      if status.nil?
        return nil if key?(value, "status") # an explicit nil: the core reports it

        status = 0
      elsif !(status.is_a?(::Integer) && status.between?(100, 599))
        return nil
      end
      headers = field(value, "headers")
      headers_json = headers.nil? ? EMPTY : JsonCodec.dump(headers, "result.headers")
      body, kind = encode_body(value)
      Response.new(status, headers_json, body, kind)
    end

    def encode_body(value)
      return [EMPTY, :BODY_KIND_NONE] unless key?(value, "body")

      body = field(value, "body")
      if body.is_a?(::String)
        return [body, :BODY_KIND_BINARY] if body.encoding == ::Encoding::BINARY
        # protobuf would try to transcode it: tag a copy as binary
        return [body.b, :BODY_KIND_BINARY] unless body.valid_encoding?

        text = body.encoding == ::Encoding::UTF_8 ? body : body.encode(::Encoding::UTF_8)
        return [text.b, :BODY_KIND_TEXT]
      end
      [JsonCodec.dump(body, "result.body"), :BODY_KIND_JSON]
    end

    def key?(hash, name)
      hash.key?(name) || hash.key?(name.to_sym)
    end

    def field(hash, name)
      hash.key?(name) ? hash[name] : hash[name.to_sym]
    end
  end
end
