#!/usr/bin/env bash
# Regenerate the Go protobuf/gRPC code of the Go runner from proto/.
# Usage: runners/go/scripts/gen_proto.sh [OUT_DIR]
#   OUT_DIR defaults to runners/go/src (the checked-in GOPATH root); the files land in
#   OUT_DIR/motia/internal/runnerpb/{runner.pb.go,runner_grpc.pb.go}.
# protoc-gen-go and protoc-gen-go-grpc are built from the Debian sources (golang-google-protobuf-dev 1.28,
# golang-google-grpc-dev 1.33) into $MOTIA_GO_CACHE/bin (default ~/.cache/motia-go) on first use; other
# versions emit different code and the `make lint` freshness diff would fail.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/src}"
cache="${MOTIA_GO_CACHE:-$HOME/.cache/motia-go}"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
command -v go >/dev/null || { echo "go not found: apt-get install golang-go" >&2; exit 1; }
if [ ! -x "$cache/bin/protoc-gen-go" ] || [ ! -x "$cache/bin/protoc-gen-go-grpc" ]; then
  mkdir -p "$cache/bin" "$cache/gocache" "$cache/gopath"
  GO111MODULE=off GOPATH="$cache/gopath:/usr/share/gocode" GOCACHE="$cache/gocache" GOBIN="$cache/bin" \
    go install google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
fi
mkdir -p "$out/motia/internal/runnerpb"
proto=motia/runner/v1/runner.proto
protoc -I "$repo/proto" \
  --plugin=protoc-gen-go="$cache/bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$cache/bin/protoc-gen-go-grpc" \
  --go_out="$out/motia/internal/runnerpb" --go_opt=paths=source_relative --go_opt="M$proto=motia/internal/runnerpb" \
  --go-grpc_out="$out/motia/internal/runnerpb" --go-grpc_opt=paths=source_relative \
  --go-grpc_opt="M$proto=motia/internal/runnerpb" \
  "$repo/proto/$proto"
# paths=source_relative keeps the proto's folders; the package is one flat folder.
mv "$out/motia/internal/runnerpb/motia/runner/v1/"*.go "$out/motia/internal/runnerpb/"
rm -rf "$out/motia/internal/runnerpb/motia"
