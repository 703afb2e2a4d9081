# frozen_string_literal: true

# Unit tests of the steps with minitest (part of Ruby): each step file is loaded into its own module, as
# the motia-core Ruby runner loads it, and its handler runs against an in-memory context.
# Run with `ruby test/steps_test.rb` from the project folder.
require "minitest/autorun"

StepFile = Struct.new(:path) do
  def step
    @step ||= Object.new.extend(Module.new.tap { |m| m.module_eval(File.read(path), path) })
  end

  def handler(*args) = step.handler(*args)
end

class FakeState
  attr_reader :groups

  def initialize = @groups = Hash.new { |h, k| h[k] = {} }
  def get(group, key) = @groups[group][key]
  def set(group, key, value) = @groups[group][key] = value
end

class FakeLogger
  attr_reader :lines

  def initialize = @lines = []
  def info(message, fields = {}) = @lines << [message, fields]
end

FakeContext = Struct.new(:trace_id, :state, :logger, :emits) do
  def emit(event) = emits << event
end

class StepsTest < Minitest::Test
  STEPS = File.expand_path("../steps", __dir__)

  def setup
    @context = FakeContext.new("TRACE-1", FakeState.new, FakeLogger.new, [])
  end

  def test_hello_stores_the_name_and_emits
    result = StepFile.new(File.join(STEPS, "hello_step.rb")).handler({ "body" => { "name" => "Ada" } }, @context)
    assert_equal 202, result["status"]
    assert_equal [{ "topic" => "hello.sent", "data" => { "name" => "Ada" } }], @context.emits
    assert_equal "received", @context.state.get("greetings", "TRACE-1")["status"]
  end

  def test_greet_writes_the_greeting
    @context.state.set("greetings", "TRACE-1", { "hops" => ["ruby"] })
    StepFile.new(File.join(STEPS, "greet_step.rb")).handler({ "name" => "Ada" }, @context)
    greeting = @context.state.get("greetings", "TRACE-1")
    assert_equal "Hello, Ada!", greeting["message"]
    assert_equal %w[ruby ruby], greeting["hops"]
  end

  def test_unknown_greeting_is_404
    result = StepFile.new(File.join(STEPS, "get_greeting_step.rb")).handler({ "pathParams" => { "traceId" => "x" } }, @context)
    assert_equal 404, result["status"]
  end
end
