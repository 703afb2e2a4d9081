# frozen_string_literal: true

module Motia
  # `ctx.emit` with Motia 0.x's lenient edges (docs/compatibility.md, "Lenient edges").
  #
  # Motia drops an emit it cannot deliver and lets the handler finish: positional arguments
  # (`emit("topic", data)`), a non-Hash argument, a Hash without a topic, a topic the step does not
  # declare. So does motia-core, but never silently: a warning names the file and line of the emit
  # call, with structured fields the core recognises ({"motia" => "emit_dropped", "reason", "topic"?,
  # "file"?, "line"?}) to count the drop in /metrics and to add an `emit_dropped` event to the step's
  # span. `serve --strict` (MOTIA_STRICT=1 in the runner's environment) raises instead, as before.
  #
  # The shape is only visible here; an undeclared topic is decided by the core, which answers such
  # an emit with {"dropped" => "undeclared_topic", "message" => ...} instead of null.
  module Emit
    LIB_DIR = ::File.expand_path(__dir__)
    STRICT_OFF = ["", "0", "false", "no"].freeze
    private_constant :LIB_DIR, :STRICT_OFF

    module_function

    # MOTIA_STRICT as the core sets it for its runners (`serve --strict`).
    def strict?
      !STRICT_OFF.include?(ENV.fetch("MOTIA_STRICT", "").strip.downcase)
    end

    # [file, line] of the first frame outside this library, the file relative to the project.
    def call_site
      location = caller_locations(1, 6)&.find { |l| !(l.absolute_path || l.path).to_s.start_with?(LIB_DIR) }
      return nil if location.nil?

      file = (location.absolute_path || location.path).to_s
      root = ::File.expand_path(ENV["MOTIA_PROJECT_DIR"] || ::Dir.pwd)
      file = file.delete_prefix("#{root}/") if file.start_with?("#{root}/")
      [file, location.lineno]
    end

    # [reason, topic, what] when the arguments are not one {"topic", "data"} Hash; nil otherwise.
    def shape_problem(event, rest, topic)
      if event.is_a?(::String) || event.is_a?(::Symbol)
        more = rest.empty? ? "" : ", …"
        return ["positional", event.to_s,
                "emit(#{preview(event)}#{more}) passes positional arguments; an event is one Hash: " \
                "emit({ \"topic\" => #{event.to_s.inspect}, \"data\" => ... })"]
      end
      return ["not_object", nil, "emit(#{preview(event)}) needs a Hash like { \"topic\" => ..., \"data\" => ... }"] unless event.is_a?(::Hash)
      return nil if (topic.is_a?(::String) || topic.is_a?(::Symbol)) && !topic.to_s.empty?

      shown = topic.nil? ? "missing" : preview(topic)
      ["no_topic", nil, "emit got an event without a topic (topic is #{shown}); it needs a non-empty String"]
    end

    def preview(value)
      case value
      when ::String, ::Symbol then value.to_s.length > 60 ? "#{value.to_s[0, 60].inspect}…" : value.to_s.inspect
      when nil, true, false, ::Numeric then value.inspect
      else "a #{value.class}"
      end
    end

    def where(site) = site.nil? ? "" : " (#{site[0]}:#{site[1]})"

    def fields(reason, topic, site)
      fields = { "motia" => "emit_dropped", "reason" => reason }
      fields["topic"] = topic unless topic.nil?
      fields["file"], fields["line"] = site unless site.nil?
      fields
    end

    # [reason, message] when the core answered with "dropped"; nil for a delivered event.
    def dropped_reply(reply)
      return nil unless reply.is_a?(::Hash) && reply["dropped"].is_a?(::String)

      message = reply["message"]
      [reply["dropped"], message.is_a?(::String) ? message : "emit dropped (#{reply['dropped']})"]
    end
  end
end
