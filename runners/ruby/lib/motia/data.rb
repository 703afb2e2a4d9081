# frozen_string_literal: true

module Motia
  # A Hash with string keys that also answers dot access, the way requests, event data and state
  # values reach a handler:
  #
  #   req["body"]["text"] == req.body.text
  #   req.pathParams["id"] == req.path_params["id"]     # snake_case finds a camelCase key
  #   data.missing                                        # => nil, like data["missing"]
  #   data.note = "x"                                     # same as data["note"] = "x"
  #   data[:text]                                         # a Symbol finds the String key
  #
  # Hash's own methods win over keys: for a key named like one (`size`, `count`, `keys`,
  # `values`, `length`, `min`, `first`, ...), use `data["size"]`. One exception: `data.key` with no
  # argument (Hash#key needs one) is the "key" key. Nested objects are Motia::Data too.
  class Data < ::Hash
    IDENTIFIER = /\A[a-z_][A-Za-z0-9_]*\z/.freeze
    private_constant :IDENTIFIER

    # A Motia::Data copy of `hash` (nested hashes and arrays converted, keys made strings).
    def self.from(value)
      case value
      when ::Hash
        value.each_with_object(new) { |(k, v), out| out[k.is_a?(::Symbol) ? k.to_s : k] = from(v) }
      when ::Array then value.map { |v| from(v) }
      else value
      end
    end

    # "path_params" -> "pathParams"
    def self.camelize(name)
      name.gsub(/_([a-z0-9])/) { ::Regexp.last_match(1).upcase }
    end

    def [](key)
      return super unless key.is_a?(::Symbol)

      key?(key) ? super : super(key.to_s)
    end

    # data.key -> data["key"]; data.key(value) is Hash#key (the key holding `value`).
    def key(*args)
      args.empty? ? self["key"] : super
    end

    def dig(key, *rest)
      value = self[key]
      return value if rest.empty? || value.nil?

      value.dig(*rest)
    end

    def method_missing(name, *args, &block)
      text = name.to_s
      if args.length == 1 && block.nil? && text.end_with?("=")
        key = text.chomp("=")
        return store(key?(key) || !key?(Data.camelize(key)) ? key : Data.camelize(key), args[0])
      end
      if args.empty? && block.nil? && IDENTIFIER.match?(text) && !text.start_with?("to_")
        return fetch(text) if key?(text)

        camel = Data.camelize(text)
        return camel == text ? nil : self[camel]
      end
      super
    end

    def respond_to_missing?(name, include_private = false)
      text = name.to_s
      key?(text) || key?(Data.camelize(text)) || super
    end
  end
end
