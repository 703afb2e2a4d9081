# frozen_string_literal: true

require_relative "test_helper"

class DataTest < Minitest::Test
  def parse(text) = MotiaRunner::JsonCodec.load(text.b)

  def test_hash_and_dot_access_with_camel_case_aliases
    req = parse('{"body":{"text":"hi","nested":{"deep":[1,{"x":2}]}},"pathParams":{"id":"7"},"queryParams":{},"rawBody":"{}"}')
    assert_kind_of Motia::Data, req
    assert_equal "hi", req.body.text
    assert_equal "hi", req["body"]["text"]
    assert_equal "7", req.pathParams.id
    assert_equal "7", req.path_params["id"]
    assert_equal "{}", req.raw_body
    assert_equal 2, req.body.nested.deep[1].x
    assert_equal "hi", req[:body][:text]
    assert_nil req.missing
    assert_equal "hi", req.dig(:body, :text)
  end

  def test_setters_and_hash_methods_win
    data = parse('{"size":3,"key":"k","count":9}')
    data.note = "n"
    assert_equal "n", data["note"]
    assert_equal 4, data.size # Hash#size: four keys
    assert_equal 3, data["size"]
    assert_equal "k", data.key # no argument: the "key" key
    assert_equal "size", data.key(3) # Hash#key(value)
    assert data.respond_to?(:note)
    refute data.respond_to?(:to_ary)
    assert_equal [data], [data].flatten # no implicit conversions from method_missing
  end

  def test_from_converts_nested_symbol_keys
    data = Motia::Data.from({ a: { b: [{ c: 1 }] } })
    assert_equal 1, data.a.b[0].c
  end
end
