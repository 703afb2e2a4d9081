# frozen_string_literal: true

require_relative "test_helper"
require "json"
require "time"

class JsonCodecTest < Minitest::Test
  Codec = MotiaRunner::JsonCodec
  Point = Struct.new(:x, :y)

  def test_symbols_structs_times_and_nil
    value = { status: 200, body: { kind: :ok, at: Time.utc(2024, 1, 2, 3, 4, 5), p: Point.new(1, 2), 7 => [nil] } }
    assert_equal({ "status" => 200, "body" => { "kind" => "ok", "at" => "2024-01-02T03:04:05Z", "p" => { "x" => 1, "y" => 2 }, "7" => [nil] } },
                 JSON.parse(Codec.dump(value, "result")))
    assert_equal "".b, Codec.dump_result(nil)
    assert_equal "null", Codec.dump(nil, "x")
    assert_equal Encoding::BINARY, Codec.dump({ "a" => "é" }, "x").encoding
  end

  def test_unchanged_values_are_not_copied
    value = { "a" => [1, "b", { "c" => true }] }
    assert_same value, Codec.native(value, "result", 0, nil)
  end

  def test_errors_name_the_path
    error = assert_raises(MotiaRunner::NotJsonError) { Codec.dump({ body: { list: [1, Object.new] } }, "result") }
    assert_equal "result.body.list[1]: Object is not JSON", error.message
    error = assert_raises(MotiaRunner::NotJsonError) { Codec.dump({ n: Float::NAN }, "result") }
    assert_match(/result\.n: NaN is not JSON/, error.message)
    cyclic = {}
    cyclic["self"] = cyclic
    error = assert_raises(MotiaRunner::NotJsonError) { Codec.dump(cyclic, "result") }
    assert_equal "result.self: circular reference", error.message
    error = assert_raises(MotiaRunner::NotJsonError) { Codec.dump({ 1.5 => 1 }, "result") }
    assert_match(/key 1.5 \(Float\) is not a string/, error.message)
    assert_raises(MotiaRunner::NotJsonError) { Codec.dump("\xff".b, "result") }
  end

  def test_plain_values_skip_the_walk_with_the_same_bytes
    value = { "items" => (1..20).map { |i| { "id" => i, "p" => i * 1.5, "t" => %w[a b], "n" => nil, "ok" => i.odd? } } }
    assert Codec.plain?(value, 0)
    assert_equal JSON.generate(Codec.native(value, "result", 0, nil)), Codec.dump(value, "result")
    refute Codec.plain?({ "a" => [:sym] }, 0)
    refute Codec.plain?({ a: 1 }, 0)
    refute Codec.plain?([Float::INFINITY], 0)
    deep = [1]
    300.times { deep = [deep] }
    refute Codec.plain?(deep, 0)
    error = assert_raises(MotiaRunner::NotJsonError) { Codec.dump(deep, "result") }
    assert_match(/nested deeper than 256 levels/, error.message)
  end

  # The reused JSON::State (one per thread) writes what JSON.generate writes, also after a
  # failed dump and for values nested deeper than JSON's default limit of 100.
  def test_the_reused_generator_matches_json_generate
    assert_raises(MotiaRunner::NotJsonError) { Codec.dump({ "s" => "\xff".b }, "result") }
    deep = { "v" => 1 }
    60.times { deep = { "d" => [deep] } } # 121 levels
    [{ "ok" => true }, deep, [1.5, "é", nil, { "a" => {} }]].each do |value|
      assert_equal JSON.generate(value, max_nesting: false).b, Codec.dump(value, "result")
    end
    here = Codec.generator
    assert_same here, Codec.generator
    refute_same here, Thread.new { Codec.generator }.value
  end

  def test_log_fields_never_raise
    error = begin
      raise ArgumentError, "bad"
    rescue ArgumentError => e
      e
    end
    fields = JSON.parse(Codec.dump_log_fields({ err: error, obj: Object.new, nan: Float::NAN }))
    assert_equal "bad", fields["err"]["message"]
    assert_equal "ArgumentError", fields["err"]["name"]
    assert_match(/json_codec_test\.rb/, fields["err"]["stack"])
    assert_match(/#<Object/, fields["obj"])
    assert_equal "NaN", fields["nan"]
    assert_equal({ "data" => [1, 2] }, JSON.parse(Codec.dump_log_fields([1, 2])))
    assert_equal({ "data" => "text" }, JSON.parse(Codec.dump_log_fields("text")))
    cyclic = []
    cyclic << cyclic
    assert_equal({ "data" => ["[Circular]"] }, JSON.parse(Codec.dump_log_fields(cyclic)))
    assert_equal "".b, Codec.dump_log_fields(nil)
  end
end
