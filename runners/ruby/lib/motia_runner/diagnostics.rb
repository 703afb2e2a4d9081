# frozen_string_literal: true

module MotiaRunner
  # The runner's own diagnostics on stderr, prefixed "motia runner:" (the core logs stderr lines
  # as warnings of runner:ruby). MOTIA_RUNNER_DEBUG=1 turns on the debug ones.
  class Diagnostics
    def initialize(debug)
      @debug = debug
    end

    def debug
      warn("motia runner: #{yield}") if @debug
    end
  end
end
