# frozen_string_literal: true

module MotiaRunner
  # Exceptions as the protocol carries them: a Ruby-style backtrace of the user's frames.
  #
  #   /app/steps/boom_step.rb:4:in `handler': conformance boom (RuntimeError)
  #   	from /app/steps/lib/util.rb:9:in `explode'
  #   caused by: /app/steps/lib/util.rb:3:in `parse': bad input (ArgumentError)
  #
  # Frames of the runner itself (runners/ruby/lib) are left out: they are noise in a user's stack.
  module Backtrace
    RUNNER_LIB = "#{File.expand_path("..", __dir__)}/".freeze
    MAX_CAUSES = 5

    module_function

    # The user's frames of `error`, with its causes.
    def format(error)
      lines = []
      seen = {}.compare_by_identity
      current = error
      MAX_CAUSES.succ.times do |depth|
        break if current.nil? || seen.key?(current)

        seen[current] = true
        frames = user_frames(current)
        head = "#{frames.first || '(no backtrace)'}: #{message_of(current)} (#{class_name(current)})"
        lines << (depth.zero? ? head : "caused by: #{head}")
        frames.drop(1).each { |frame| lines << "\tfrom #{frame}" }
        current = current.cause
      end
      lines.join("\n")
    end

    # The backtrace without the runner's own frames (all of it if every frame is ours).
    def user_frames(error)
      frames = error.backtrace || []
      mine = frames.reject { |frame| runner_frame?(frame) }
      mine.empty? ? frames : mine
    end

    # "path:line" of the first frame inside `project_dir`, shown relative to it; nil if none.
    def project_location(error, project_dir)
      prefix = project_dir.end_with?("/") ? project_dir : "#{project_dir}/"
      (error.backtrace_locations || []).each do |location|
        path = location.absolute_path || location.path
        next if path.nil? || !path.start_with?(prefix)

        return "#{path.delete_prefix(prefix)}:#{location.lineno}"
      end
      nil
    end

    def runner_frame?(frame)
      frame.start_with?(RUNNER_LIB)
    end

    def message_of(error)
      text = error.message.to_s
      text = text.dup.force_encoding(Encoding::UTF_8) if text.encoding == Encoding::BINARY
      text.valid_encoding? ? text : text.scrub("?")
    rescue StandardError
      "(the exception's message raised an error)"
    end

    def class_name(error)
      name = error.class.name
      name.nil? || name.empty? ? error.class.inspect : name
    end
  end
end
