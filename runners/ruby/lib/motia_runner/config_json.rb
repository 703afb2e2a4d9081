# frozen_string_literal: true

require "json"
require_relative "errors"

module MotiaRunner
  # A step's `config` as the JSON the core validates (StepManifest.config_json).
  #
  # Verbatim, except:
  #   * Symbols (keys and values) become strings; Integer keys become strings
  #     (`responseSchema: { 200 => {...} }`);
  #   * callables (Proc, lambda, Method, or any object answering `call`: middleware entries,
  #     canAccess, ...) become {"$function": "<name>"}: the method's name, "anonymous" for a
  #     proc or lambda, the class name for a callable object;
  #   * an object answering `to_json_schema` (a schema library's schema) becomes what it returns.
  # Anything else that JSON cannot hold raises ConfigNotJsonError naming the path, e.g.
  # "config.foo.bar: Time is not JSON", "config.retries: NaN is not JSON".
  module ConfigJson
    MAX_DEPTH = 128

    module_function

    # JSON bytes (binary String) of `config`.
    def dump(config)
      ::JSON.generate(walk(config, "config", {}.compare_by_identity)).force_encoding(::Encoding::BINARY)
    rescue ::JSON::GeneratorError, ::EncodingError => e
      raise ConfigNotJsonError, "config: #{e.message.lines.first&.strip}"
    end

    # The callables of config["middleware"] (or config[:middleware]), in order.
    def middleware(config)
      list = config.key?("middleware") ? config["middleware"] : config[:middleware]
      return [] unless list.is_a?(::Array)

      list.select { |entry| callable?(entry) }
    end

    def callable?(value)
      value.is_a?(::Proc) || value.is_a?(::Method) ||
        (!data?(value) && value.respond_to?(:call))
    end

    def function_name(value)
      case value
      when ::Method, ::UnboundMethod then value.name.to_s
      when ::Proc then "anonymous"
      else
        name = value.is_a?(::Module) ? value.name : value.class.name
        name.nil? || name.empty? ? "anonymous" : name
      end
    end

    def data?(value)
      case value
      when ::String, ::Symbol, ::Numeric, ::Hash, ::Array, true, false, nil then true
      else false
      end
    end

    def walk(value, path, ancestors)
      case value
      when ::String
        raise ConfigNotJsonError, "#{path}: the string is not valid UTF-8" unless utf8?(value)

        value
      when ::Symbol then value.to_s
      when ::Integer, true, false, nil then value
      when ::Float
        raise ConfigNotJsonError, "#{path}: #{value} is not JSON" unless value.finite?

        value
      when ::Hash, ::Array then walk_container(value, path, ancestors)
      when ::Proc, ::Method, ::UnboundMethod then { "$function" => function_name(value) }
      else
        return walk(value.to_json_schema, path, ancestors) if value.respond_to?(:to_json_schema)
        return { "$function" => function_name(value) } if value.respond_to?(:call)

        raise ConfigNotJsonError, "#{path}: #{class_name(value)} is not JSON"
      end
    end

    def walk_container(value, path, ancestors)
      raise ConfigNotJsonError, "#{path}: nested deeper than #{MAX_DEPTH} levels" if ancestors.size > MAX_DEPTH
      raise ConfigNotJsonError, "#{path}: circular reference" if ancestors.key?(value)

      ancestors[value] = true
      if value.is_a?(::Hash)
        value.each_with_object({}) do |(key, item), out|
          name = key_name(key, path)
          out[name] = walk(item, "#{path}.#{name}", ancestors)
        end
      else
        value.each_with_index.map { |item, index| walk(item, "#{path}[#{index}]", ancestors) }
      end
    ensure
      ancestors.delete(value)
    end

    def key_name(key, path)
      case key
      when ::String then key
      when ::Symbol, ::Integer then key.to_s
      else raise ConfigNotJsonError, "#{path}: key #{key.inspect} (#{class_name(key)}) is not a string"
      end
    end

    def utf8?(string)
      case string.encoding
      when ::Encoding::UTF_8 then string.valid_encoding?
      when ::Encoding::BINARY then string.dup.force_encoding(::Encoding::UTF_8).valid_encoding?
      else true # json converts other encodings
      end
    end

    def class_name(value)
      name = value.class.name
      name.nil? || name.empty? ? value.class.inspect : name
    end
  end
end
