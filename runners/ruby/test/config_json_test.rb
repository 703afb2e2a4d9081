# frozen_string_literal: true

require_relative "test_helper"
require "json"

class ConfigJsonTest < Minitest::Test
  ConfigJson = MotiaRunner::ConfigJson

  class Guard
    def call(_req, _ctx, next_fn) = next_fn.call
  end

  class Schema
    def to_json_schema = { "type" => "string" }
  end

  def auth(_req, _ctx, next_fn) = next_fn.call

  def test_symbols_functions_and_integer_keys
    config = {
      type: :api, name: "A", middleware: [method(:auth), ->(_r, _c, n) { n.call }, Guard.new, "not callable"],
      responseSchema: { 200 => { type: "object" } }, bodySchema: Schema.new, canAccess: proc { true }
    }
    json = JSON.parse(ConfigJson.dump(config))
    assert_equal "api", json["type"]
    assert_equal [{ "$function" => "auth" }, { "$function" => "anonymous" },
                  { "$function" => "ConfigJsonTest::Guard" }, "not callable"], json["middleware"]
    assert_equal({ "200" => { "type" => "object" } }, json["responseSchema"])
    assert_equal({ "type" => "string" }, json["bodySchema"])
    assert_equal({ "$function" => "anonymous" }, json["canAccess"])
    assert_equal 3, ConfigJson.middleware(config).size
  end

  def test_non_json_values_name_the_field
    error = assert_raises(MotiaRunner::ConfigNotJsonError) { ConfigJson.dump({ foo: { bar: Time.now } }) }
    assert_equal "config.foo.bar: Time is not JSON", error.message
    error = assert_raises(MotiaRunner::ConfigNotJsonError) { ConfigJson.dump({ "emits" => ["a", 1..2] }) }
    assert_equal "config.emits[1]: Range is not JSON", error.message
    error = assert_raises(MotiaRunner::ConfigNotJsonError) { ConfigJson.dump({ "retries" => Float::INFINITY }) }
    assert_equal "config.retries: Infinity is not JSON", error.message
    error = assert_raises(MotiaRunner::ConfigNotJsonError) { ConfigJson.dump({ "x" => "\xff".b }) }
    assert_equal "config.x: the string is not valid UTF-8", error.message
  end
end
