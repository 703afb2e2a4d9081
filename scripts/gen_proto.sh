#!/usr/bin/env bash
# Regenerate the checked-in protobuf code from proto/. Usage: scripts/gen_proto.sh [OUT_ROOT]
# OUT_ROOT defaults to the repo; `make lint` passes a temp dir and diffs it against the repo.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$here}"
py="${PYTHON:-$here/.venv/bin/python}"
pyout="$out/core/motia_core/_proto"
mkdir -p "$pyout"
"$py" -m grpc_tools.protoc -I "$here/proto" \
  --python_out="$pyout" --pyi_out="$pyout" --grpc_python_out="$pyout" \
  "$here/proto/motia/runner/v1/runner.proto"
# grpc_tools writes an absolute import; make it relative so the package can live anywhere.
sed -i 's/^from motia\.runner\.v1 import runner_pb2 as/from . import runner_pb2 as/' \
  "$pyout/motia/runner/v1/runner_pb2_grpc.py"
for d in "$pyout" "$pyout/motia" "$pyout/motia/runner" "$pyout/motia/runner/v1"; do
  [ -f "$d/__init__.py" ] || : > "$d/__init__.py"
done
