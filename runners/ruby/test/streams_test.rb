# frozen_string_literal: true

require_relative "test_helper"
require "json"
require "fileutils"
require "tmpdir"

class StreamsTest < Minitest::Test
  PB = MotiaRunner::PB

  # Stands in for CallRouter: records (op, body) and answers with canned JSON bytes.
  class FakeRouter
    attr_reader :calls

    def initialize(replies) = (@replies = replies) && (@calls = [])

    def call(invocation_id, op, body)
      @calls << [invocation_id, op, body]
      @replies.fetch(op, "null").b
    end
  end

  def context(sink = RecordingSink.new)
    Motia::Context.new(trace_id: "T", flows: [], sink: sink)
  end

  def test_any_name_gives_a_cached_stream_by_dot_or_index
    ctx = context
    todo = ctx.streams.todo
    assert_kind_of Motia::Stream, todo
    assert_equal "todo", todo.name
    assert_same todo, ctx.streams["todo"]
    assert_same todo, ctx.streams[:todo]
    assert_equal "chat-messages", ctx.streams["chat-messages"].name
    assert_equal "myStream", ctx.streams.myStream.name
    assert ctx.streams.key?("anything")
    assert_raises(Motia::StreamNotDeclaredError) { ctx.streams[""] }
    assert_raises(NoMethodError) { ctx.streams.to_ary } # no implicit conversions
    assert_equal [ctx.streams], [ctx.streams].flatten
    assert_equal "#<Motia::Stream todo>", todo.inspect
  end

  def test_an_explicit_map_hands_out_only_its_streams
    fake = Object.new
    streams = Motia::Streams.new({ todo: fake })
    assert_same fake, streams.todo
    assert_same fake, streams["todo"]
    assert streams.key?(:todo)
    refute streams.key?("nope")
    assert_equal ["todo"], streams.names
    error = assert_raises(Motia::StreamNotDeclaredError) { streams.nope }
    assert_equal "stream 'nope' is not declared in this project", error.message
    assert_equal "nope", error.stream_name
    assert_raises(Motia::StreamNotDeclaredError) { Motia::Streams.new.todo }
    ctx = Motia::Context.new(trace_id: "T", flows: [], sink: RecordingSink.new, streams: streams)
    assert_raises(Motia::StreamNotDeclaredError) { ctx.streams.other }
  end

  def test_methods_send_their_calls
    sink = RecordingSink.new
    todo = context(sink).streams.todo
    todo.get(:inbox, 1)
    todo.set("inbox", "t1", { text: "x" })
    todo.delete("inbox", "t1")
    assert_equal [], todo.get_group("inbox")
    todo.getGroup("inbox")
    assert_nil todo.send({ groupId: "inbox" }, { type: "ping", data: { n: 1 } })
    todo.send({ "groupId" => "inbox", "id" => 7 }, { "type" => :poke })
    todo.send({ group_id: "g" }, { type: "t", data: nil })
    assert_equal [
      [:stream_get, "todo", "inbox", "1"],
      [:stream_set, "todo", "inbox", "t1", { text: "x" }],
      [:stream_delete, "todo", "inbox", "t1"],
      [:stream_get_group, "todo", "inbox"],
      [:stream_get_group, "todo", "inbox"],
      [:stream_send, "todo", "inbox", "", "ping", { n: 1 }],
      [:stream_send, "todo", "inbox", "7", "poke", nil],
      [:stream_send, "todo", "g", "", "t", nil]
    ], sink.calls
  end

  def test_bad_arguments_are_clear_errors_before_any_call
    sink = RecordingSink.new
    todo = context(sink).streams.todo
    error = assert_raises(TypeError) { todo.set("g", "1", [1, 2]) }
    assert_equal "streams.todo.set takes a Hash (a JSON object) as data, got Array", error.message
    assert_raises(TypeError) { todo.set("g", "1", "text") }
    assert_raises(TypeError) { todo.send([1], { type: "t" }) }
    assert_raises(TypeError) { todo.send({ groupId: "g" }, "t") }
    assert_match(/needs a "groupId"/, assert_raises(ArgumentError) { todo.send({ id: "1" }, { type: "t" }) }.message)
    assert_match(/non-empty String "type"/, assert_raises(ArgumentError) { todo.send({ groupId: "g" }, { type: "" }) }.message)
    assert_raises(ArgumentError) { todo.send({ groupId: "g" }, { data: 1 }) }
    assert_raises(ArgumentError) { todo.send({ groupId: "g" }) }
    assert_empty sink.calls
    # Object#send still works with a method name
    assert_equal "todo", todo.send(:name)
  end

  def test_invocation_sink_encodes_the_protobuf_calls_and_decodes_replies
    router = FakeRouter.new(
      stream_get: '{"text":"a","id":"1"}', stream_set: '{"text":"b","id":"1"}', stream_delete: "null",
      stream_get_group: '[{"text":"b","id":"1"}]'
    )
    todo = context(MotiaRunner::InvocationSink.new(router, "inv-1")).streams.todo
    item = todo.get("g", "1")
    assert_kind_of Motia::Data, item
    assert_equal "a", item.text
    assert_equal({ "text" => "b", "id" => "1" }, todo.set("g", "1", { text: "b" }))
    assert_nil todo.delete("g", "1")
    assert_equal "b", todo.get_group("g")[0].text
    assert_nil todo.send({ groupId: "g", id: "1" }, { type: "ping", data: [1] })
    ops = router.calls.map { |invocation, op, _| [invocation, op] }
    assert_equal [["inv-1", :stream_get], ["inv-1", :stream_set], ["inv-1", :stream_delete],
                  ["inv-1", :stream_get_group], ["inv-1", :stream_send]], ops
    bodies = router.calls.map(&:last)
    assert_equal PB::StreamGet.new(stream: "todo", group_id: "g", id: "1"), bodies[0]
    assert_equal ["todo", "g", "1"], [bodies[1].stream, bodies[1].group_id, bodies[1].id]
    assert_equal({ "text" => "b" }, JSON.parse(bodies[1].data_json))
    assert_equal PB::StreamDelete.new(stream: "todo", group_id: "g", id: "1"), bodies[2]
    assert_equal PB::StreamGetGroup.new(stream: "todo", group_id: "g"), bodies[3]
    assert_equal ["todo", "g", "1", "ping", "[1]"],
                 [bodies[4].stream, bodies[4].group_id, bodies[4].id, bodies[4].type, bodies[4].data_json]
    error = assert_raises(Motia::CallError) { todo.set("g", "1", { at: Object.new }) }
    assert_equal :invalid_argument, error.code
    assert_equal "streams.set", error.op
    assert_match(/data\.at: Object is not JSON/, error.message)
    assert_equal "streams.getGroup", MotiaRunner::CallRouter::OP_NAMES[:stream_get_group]
  end

  def test_stream_auth_runs_like_an_event_and_access_is_not_a_handler_trigger
    step = Struct.new(:handler, :middleware, :type).new(->(req, ctx) { [req, ctx] }, [], "")
    assert_equal :TRIGGER_STREAM_AUTH, MotiaRunner::HandlerCall.effective_trigger(:TRIGGER_STREAM_AUTH, step)
    assert_equal [{ "authToken" => "t" }, :ctx],
                 MotiaRunner::HandlerCall.run(step, :TRIGGER_STREAM_AUTH, { "authToken" => "t" }, :ctx)
    assert_nil MotiaRunner::HandlerCall.effective_trigger(:TRIGGER_STREAM_ACCESS, step)
    assert_includes MotiaRunner::Session::CAPABILITIES, "streams"
  end

  def test_loader_accepts_stream_and_stream_auth_files_without_a_handler
    Dir.mktmpdir do |dir|
      files = {
        "steps/todo_stream.rb" => <<~RUBY,
          def config = { "name" => "todo", "schema" => { "type" => "object" }, "baseConfig" => { "storageType" => "default" } }
        RUBY
        "steps/private.stream.rb" => <<~RUBY,
          def can_access(subscription, auth_context) = auth_context && auth_context["userId"] == subscription["groupId"]
          def config
            { name: "private", schema: { type: "object" }, baseConfig: { storageType: "default" }, canAccess: method(:can_access) }
          end
        RUBY
        "steps/stream_auth.rb" => <<~RUBY,
          def config = { "name" => "StreamAuth" }
          def handler(request, ctx) = { "token" => request["authToken"] }
        RUBY
        "src/stream-auth.rb" => "def config = {}\ndef handler(request) = nil\n"
      }
      file_type = Struct.new(:step_id, :path, :relative_path)
      entries = files.map do |relative, source|
        path = File.join(dir, relative)
        FileUtils.mkdir_p(File.dirname(path))
        File.write(path, source)
        file_type.new(relative, path, relative)
      end
      loaded, failures = MotiaRunner::Loader.new(dir).load(entries)
      assert_empty failures
      by_id = loaded.to_h { |step| [step.step_id, step] }
      assert_nil by_id["steps/todo_stream.rb"].handler
      assert_nil by_id["steps/private.stream.rb"].handler
      private_config = JSON.parse(by_id["steps/private.stream.rb"].config_json)
      assert_equal({ "$function" => "can_access" }, private_config["canAccess"])
      can_access = by_id["steps/private.stream.rb"].config[:canAccess]
      assert can_access.call({ "groupId" => "al" }, { "userId" => "al" })
      refute can_access.call({ "groupId" => "al" }, nil)
      refute_nil by_id["steps/stream_auth.rb"].handler
      refute_nil by_id["src/stream-auth.rb"].handler
    end
  end
end
