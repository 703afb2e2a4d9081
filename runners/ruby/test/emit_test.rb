# frozen_string_literal: true

require_relative "test_helper"

# Motia::Context#emit keeps Motia's lenient edges (docs/compatibility.md): an emit Motia drops is
# logged with the caller's file and line instead of raising, unless MOTIA_STRICT is set.
class EmitTest < Minitest::Test
  # Answers an emit the way the core answers one to an undeclared topic.
  class DroppingSink < RecordingSink
    def emit(*args)
      super
      { "dropped" => "undeclared_topic", "message" => "S emitted 'x', which is not in its config.emits ('y')" }
    end
  end

  def setup
    @strict = ENV.delete("MOTIA_STRICT")
  end

  def teardown
    @strict.nil? ? ENV.delete("MOTIA_STRICT") : ENV["MOTIA_STRICT"] = @strict
  end

  def test_bad_shapes_are_dropped_with_a_warning_naming_this_line
    sink = RecordingSink.new
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: sink)
    line = __LINE__ + 1
    [-> { ctx.emit("t", { "a" => 1 }) }, -> { ctx.emit(3) }, -> { ctx.emit({ "data" => 1 }) }].each { |c| assert_nil c.call }
    reasons = sink.calls.map { |op, level, _message, fields| [op, level, fields["reason"], fields["line"]] }
    assert_equal [[:log, :warn, "positional", line], [:log, :warn, "not_object", line], [:log, :warn, "no_topic", line]], reasons
    assert(sink.calls.all? { |_, _, message, fields| fields["file"].end_with?("emit_test.rb") && message.include?("dropped") })
    assert_equal "t", sink.calls.first[3]["topic"]
  end

  def test_keyword_style_and_symbol_keys_are_a_proper_event
    sink = RecordingSink.new
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: sink)
    ctx.emit(topic: "t", data: { "a" => 1 })
    assert_equal [[:emit, "t", { "a" => 1 }, ""]], sink.calls
  end

  def test_a_dropped_reply_is_logged_with_the_call_site
    sink = DroppingSink.new
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: sink)
    line = __LINE__ + 1
    assert_nil ctx.emit({ "topic" => "x", "data" => 1 })
    op, level, message, fields = sink.calls.last
    assert_equal [:log, :warn, "undeclared_topic", "x", line], [op, level, fields["reason"], fields["topic"], fields["line"]]
    assert_includes message, "not in its config.emits"
  end

  def test_strict_raises_naming_the_call
    ENV["MOTIA_STRICT"] = "1"
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: RecordingSink.new)
    error = assert_raises(ArgumentError) { ctx.emit("t", 1) }
    assert_includes error.message, "emit_test.rb:#{__LINE__ - 1}"
    assert_includes error.message, "--strict"
  end
end
