# frozen_string_literal: true

# The generated protocol code (lib/motia/runner/v1, from proto/ by scripts/gen_proto.sh), loaded
# in one place. grpc's C core logs transport events to stderr at INFO; the core would show them
# as runner output, so keep them to errors unless the user asked for more.
ENV["GRPC_VERBOSITY"] ||= "ERROR"
require "grpc"
require "motia/runner/v1/runner_pb"

module MotiaRunner
  PB = ::Motia::Runner::V1
  CONNECT_METHOD = "/motia.runner.v1.RunnerService/Connect"
  DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
end
