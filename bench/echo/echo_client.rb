# Bench-only echo "runner" in Ruby (Debian's ruby-grpc): answers every frame of Pings with one
# frame of Pongs. Usage: ruby -I <generated proto dir> echo_client.rb unix:/path/to/sock
require "grpc"
require "motia/runner/v1/runner_services_pb"

V1 = Motia::Runner::V1
outbox = Queue.new
outbox << V1::RunnerFrame.new(messages: [V1::RunnerMessage.new(hello: V1::Hello.new(language: "ruby", runtime_version: RUBY_VERSION))])
requests = Enumerator.new do |y|
  while (frame = outbox.pop)
    y << frame
  end
end
stub = V1::RunnerService::Stub.new(ARGV.fetch(0), :this_channel_is_insecure)
begin
  stub.connect(requests).each do |frame|
    outbox << V1::RunnerFrame.new(messages: frame.messages.map { |m| V1::RunnerMessage.new(pong: V1::Pong.new(nonce: m.ping.nonce)) })
  end
rescue GRPC::BadStatus
  nil
ensure
  outbox.close
end
