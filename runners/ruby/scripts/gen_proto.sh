#!/usr/bin/env bash
# Regenerate the Ruby protobuf/gRPC code of the Ruby runner from proto/.
# Usage: runners/ruby/scripts/gen_proto.sh [OUT_DIR]
#   OUT_DIR defaults to runners/ruby/lib (the checked-in location); the files land in
#   OUT_DIR/motia/runner/v1/{runner_pb.rb,runner_services_pb.rb}.
# Needs protoc 3.21 (apt protobuf-compiler) and grpc_ruby_plugin 1.51 (apt protobuf-compiler-grpc, which
# ruby-grpc-tools pulls in); other versions emit different code and the `make lint` diff would fail.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/lib}"
plugin="${GRPC_RUBY_PLUGIN:-$(command -v grpc_ruby_plugin || echo /usr/bin/grpc_ruby_plugin)}"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
[ -x "$plugin" ] || { echo "grpc_ruby_plugin not found: apt-get install protobuf-compiler-grpc" >&2; exit 1; }
mkdir -p "$out"
protoc -I "$repo/proto" --ruby_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  "$repo/proto/motia/runner/v1/runner.proto"
