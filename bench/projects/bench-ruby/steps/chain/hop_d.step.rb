# Event chain, hop 4 (Ruby): reports "c:<id>" to the bench's UDP sink.
require "socket"

def config
  {
    "type" => "event", "name" => "ChainHopRb", "subscribes" => ["bench.chain.d"], "emits" => [],
    "flows" => ["bench-chain"],
  }
end

def handler(input, _context)
  ($bench_chain_sink ||= UDPSocket.new).send("c:#{input['id']}", 0, "127.0.0.1", Integer(ENV.fetch("BENCH_SINK_PORT")))
end
