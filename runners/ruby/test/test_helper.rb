# frozen_string_literal: true

# Unit tests of the Ruby runner: `ruby runners/ruby/test/run.rb` (tests/test_ruby_wire_lifecycle.py runs them too).
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "minitest/autorun"
require "motia"
require "motia_runner/session"

# A context's sink that records every call (`[op, *args]`) and answers nil ([] for the get_group
# calls), for tests of Motia::Context, Motia::Stream and cancellation.
class RecordingSink
  OPS = %i[emit log state_get state_set state_delete state_get_group state_clear
           stream_get stream_set stream_delete stream_get_group stream_send].freeze

  attr_reader :calls

  def initialize = @calls = []

  OPS.each do |op|
    define_method(op) do |*args|
      @calls << [op, *args]
      op.end_with?("get_group") ? [] : nil
    end
  end
end
