# frozen_string_literal: true

require "json"
require "time"
require_relative "errors"
require_relative "../motia/data"

module MotiaRunner
  # JSON <-> bytes for payloads, results and call values (protobuf is only the envelope).
  #
  # Ruby's `json` turns any object into JSON through `to_s` ("#<Foo:0x...>"), which would hide
  # mistakes, so values are first walked and checked:
  #
  #   Hash (String/Symbol/Integer keys), Array, String, Symbol (-> its name), Integer, finite Float,
  #   true, false, nil                          -> as they are
  #   Struct                                    -> its to_h
  #   Time, Date, DateTime                      -> ISO 8601 string
  #   an object with `as_json`                  -> whatever as_json returns (checked again)
  #   anything else, NaN, Infinity, cycles      -> NotJsonError naming the path ("result.body.at: Foo is not JSON")
  module JsonCodec
    EMPTY = "".b.freeze
    NULL = "null".b.freeze
    MAX_DEPTH = 256

    module_function

    # JSON bytes (binary String) of `value`; `what` names the root of paths in errors.
    def dump(value, what)
      return NULL if value.nil?

      # Most values are plain JSON already: checking that allocates nothing, while the walk that
      # converts builds a path string per key for its error messages (6x JSON.generate's time on
      # a 50-item list). Anything else, or nested too deep (a cycle), takes the walk.
      plain = plain?(value, 0)
      text = generator.generate(plain ? value : native(value, what, 0, nil))
      text.force_encoding(::Encoding::BINARY)
    rescue ::JSON::GeneratorError, ::EncodingError => e
      raise NotJsonError, "#{what}: #{e.message.lines.first&.strip}"
    end

    # `JSON.generate(value, max_nesting: false)` builds and configures a JSON::State on every
    # call, which costs more than generating a small result; a State is reused instead, one per
    # thread (a State keeps a nesting counter and delimiter buffers while it generates).
    def generator
      ::Thread.current[:motia_json_generator] ||= ::JSON::State.new(max_nesting: false)
    end

    # Like dump, but nil -> empty bytes (a handler that returned nothing).
    def dump_result(value)
      value.nil? ? EMPTY : dump(value, "result")
    end

    # Decode JSON bytes; objects become Motia::Data. Empty bytes decode to `empty`.
    def load(bytes, empty: nil)
      return empty if bytes.nil? || bytes.empty?

      text = bytes.encoding == ::Encoding::UTF_8 ? bytes : bytes.dup.force_encoding(::Encoding::UTF_8)
      # The core refuses values nested deeper than 100 levels (docs/delivery.md#limits), but the
      # envelopes around them add a level or two (a request's body, a group's array): parse up to
      # MAX_DEPTH rather than Ruby's default of 100.
      ::JSON.parse(text, object_class: ::Motia::Data, create_additions: false, max_nesting: MAX_DEPTH)
    end

    # JSON bytes for log fields: never raises. A Hash is the object itself, any other value
    # becomes {"data": value}; exceptions become {message, stack, name}; what JSON cannot hold
    # becomes its `inspect`; cycles become "[Circular]".
    def dump_log_fields(fields)
      return EMPTY if fields.nil?

      object = fields.is_a?(::Hash) ? fields : { "data" => fields }
      ::JSON.generate(lenient(object, 0, {}.compare_by_identity)).force_encoding(::Encoding::BINARY)
    rescue ::StandardError => e
      ::JSON.generate({ "logFieldsError" => "#{e.class}: #{e.message}" }).force_encoding(::Encoding::BINARY)
    end

    # -- strict walk ---------------------------------------------------------------------------

    # True when `value` is JSON as it is: String-keyed Hashes, Arrays, Strings, Integers, finite
    # Floats, true, false, nil, at most MAX_DEPTH levels deep.
    def plain?(value, depth)
      case value
      when ::String, ::Integer, true, false, nil then true
      when ::Float then value.finite?
      when ::Hash
        return false if depth >= MAX_DEPTH

        value.each { |key, item| return false unless key.is_a?(::String) && plain?(item, depth + 1) }
        true
      when ::Array
        return false if depth >= MAX_DEPTH

        value.each { |item| return false unless plain?(item, depth + 1) }
        true
      else false
      end
    end

    def native(value, path, depth, ancestors)
      case value
      when ::String, ::Integer, ::Symbol, true, false, nil then value # json writes a Symbol as its name
      when ::Float
        raise NotJsonError, "#{path}: #{value} is not JSON" unless value.finite?

        value
      when ::Hash then native_hash(value, path, depth, ancestors)
      when ::Array then native_array(value, path, depth, ancestors)
      else converted(value, path, depth, ancestors)
      end
    end

    def native_hash(hash, path, depth, ancestors)
      ancestors = enter(hash, path, depth, ancestors)
      out = nil
      hash.each do |key, item|
        converted = native(item, "#{path}.#{key_name(key, path)}", depth + 1, ancestors)
        if out.nil? && !converted.equal?(item)
          out = {}
          hash.each { |k, v| break if k.equal?(key); out[k] = v }
        end
        out[key] = converted if out
      end
      ancestors.delete(hash)
      out || hash
    end

    def native_array(array, path, depth, ancestors)
      ancestors = enter(array, path, depth, ancestors)
      out = nil
      array.each_with_index do |item, index|
        converted = native(item, "#{path}[#{index}]", depth + 1, ancestors)
        if out.nil? && !converted.equal?(item)
          out = array.first(index)
        end
        out << converted if out
      end
      ancestors.delete(array)
      out || array
    end

    def enter(container, path, depth, ancestors)
      raise NotJsonError, "#{path}: nested deeper than #{MAX_DEPTH} levels" if depth > MAX_DEPTH

      ancestors ||= {}.compare_by_identity
      raise NotJsonError, "#{path}: circular reference" if ancestors.key?(container)

      ancestors[container] = true
      ancestors
    end

    def key_name(key, path)
      case key
      when ::String then key
      when ::Symbol, ::Integer then key.to_s
      else raise NotJsonError, "#{path}: key #{key.inspect} (#{key.class}) is not a string"
      end
    end

    def converted(value, path, depth, ancestors)
      if value.is_a?(::Struct)
        native(value.to_h, path, depth, ancestors)
      elsif value.respond_to?(:iso8601) && (value.is_a?(::Time) || date?(value))
        value.iso8601
      elsif value.respond_to?(:as_json)
        native(value.as_json, path, depth + 1, ancestors)
      else
        raise NotJsonError, "#{path}: #{describe(value)} is not JSON"
      end
    end

    def date?(value)
      defined?(::Date) && value.is_a?(::Date)
    end

    def describe(value)
      name = value.class.name
      name.nil? || name.empty? ? value.class.inspect : name
    end

    # -- lenient walk (log fields) -------------------------------------------------------------

    def lenient(value, depth, ancestors)
      return "[Too deep]" if depth > MAX_DEPTH

      case value
      when ::String then value.valid_encoding? ? value : value.scrub("?")
      when ::Integer, true, false, nil then value
      when ::Symbol then value.to_s
      when ::Float then value.finite? ? value : value.to_s
      when ::Exception then exception_fields(value)
      when ::Hash, ::Array
        return "[Circular]" if ancestors.key?(value)

        ancestors[value] = true
        out = if value.is_a?(::Hash)
                value.each_with_object({}) { |(k, v), h| h[k.is_a?(::String) ? k : k.to_s] = lenient(v, depth + 1, ancestors) }
              else
                value.map { |v| lenient(v, depth + 1, ancestors) }
              end
        ancestors.delete(value)
        out
      when ::Struct then lenient(value.to_h, depth + 1, ancestors)
      else
        value.respond_to?(:iso8601) ? value.iso8601 : value.inspect
      end
    rescue ::StandardError
      "[unprintable #{value.class}]"
    end

    def exception_fields(error)
      {
        "message" => error.message.to_s,
        "stack" => (error.backtrace || []).join("\n"),
        "name" => error.class.name || error.class.inspect
      }
    end
  end
end
