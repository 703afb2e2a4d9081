# frozen_string_literal: true

module MotiaRunner
  # Strings for protobuf `string` fields, which must be valid UTF-8: exception messages and
  # backtraces can hold anything, so they are converted and scrubbed rather than trusted.
  module Text
    module_function

    def utf8(value)
      text = value.to_s
      text = text.dup.force_encoding(Encoding::UTF_8) if text.encoding == Encoding::BINARY
      text = text.encode(Encoding::UTF_8, invalid: :replace, undef: :replace) unless text.encoding == Encoding::UTF_8
      text.valid_encoding? ? text : text.scrub("?")
    end
  end
end
