"""The Node runner's prebuilt runner.proto descriptor (dist/runner-proto.json, written by
runners/node/scripts/build.mjs; loaded by runners/node/src/transport/proto.ts without proto-loader):
the client it builds sends and receives exactly the objects the proto-loader path gives, and a
missing or stale descriptor falls back to parsing the .proto with a debug line saying why."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

NODE_DIR = ROOT / "runners" / "node"
DESCRIPTOR = NODE_DIR / "dist" / "runner-proto.json"

# Loads RunnerService through proto.ts and prints, for Connect, the method attributes and what its
# deserializers give for the empty message and for encoded samples that set every message field,
# nested four deep, one at a time (defaults, oneofs, enums, longs, bytes all show in the output).
ENTRY = """
import { setDebug } from '@src/diagnostics'
import { loadRunnerService } from '@src/transport/proto'
const protobuf = require('protobufjs')
setDebug(true)
const client: any = loadRunnerService(process.argv[2])
const root = protobuf.Root.fromJSON(JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8')).root)
root.resolveAll()
function samples(type: any, depth: number): object[] {
  const out: object[] = [{}]
  if (depth === 0) return out
  for (const field of type.fieldsArray) {
    if (field.map || !(field.resolvedType instanceof protobuf.Type)) continue
    for (const inner of samples(field.resolvedType, depth - 1)) {
      out.push({ [field.name]: field.repeated ? [inner] : inner })
    }
  }
  return out
}
const report: Record<string, unknown> = {}
for (const [name, m] of Object.entries<any>(client.service)) {
  const shapes = (type: string, ser: any, de: any) =>
    samples(root.lookupType(type), 4).map((s) => JSON.stringify(de(ser(s))))
  report[name] = {
    path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, originalName: m.originalName,
    requests: shapes('motia.runner.v1.RunnerFrame', m.requestSerialize, m.requestDeserialize),
    responses: shapes('motia.runner.v1.CoreFrame', m.responseSerialize, m.responseDeserialize),
    onPrototype: typeof client.prototype.Connect === 'function' && typeof client.prototype.connect === 'function',
  }
}
process.stdout.write(JSON.stringify(report))
"""


def _bundle(tmp_path: Path) -> Path:
    entry = tmp_path / "entry.ts"
    entry.write_text(ENTRY)
    out = tmp_path / "dist" / "probe.cjs"
    script = (
        "require('esbuild').buildSync({entryPoints: [process.argv[1]], outfile: process.argv[2], bundle: true,"
        " platform: 'node', format: 'cjs', packages: 'external', logLevel: 'error',"
        " alias: {'@src': process.argv[3]}, nodePaths: [process.argv[4]]})"
    )
    cmd = ["node", "-e", script, str(entry), str(out), str(NODE_DIR / "src"), str(NODE_DIR / "node_modules")]
    subprocess.run(cmd, cwd=NODE_DIR, check=True, timeout=60)
    return out


def _load(probe: Path) -> tuple[dict[str, object], str]:
    env = {"PATH": "/usr/bin:/bin", "NODE_PATH": str(NODE_DIR / "node_modules")}
    cmd = ["node", str(probe), str(ROOT / "proto"), str(DESCRIPTOR)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.timeout(120)
def test_prebuilt_descriptor_matches_parsing_the_proto_and_falls_back_when_missing_or_stale(tmp_path: Path) -> None:
    assert DESCRIPTOR.is_file(), "run `npm run build` in runners/node"
    probe = _bundle(tmp_path)

    # the descriptor next to the bundle is used: no debug line about parsing the .proto
    shutil.copy(DESCRIPTOR, probe.parent / DESCRIPTOR.name)
    fast, fast_err = _load(probe)
    assert "parsing motia/runner/v1/runner.proto" not in fast_err

    (probe.parent / DESCRIPTOR.name).unlink()
    parsed, parsed_err = _load(probe)
    assert (
        f"no {probe.parent / DESCRIPTOR.name} (run `npm run build`): parsing motia/runner/v1/runner.proto" in parsed_err
    )

    assert fast == parsed
    connect = fast["Connect"]
    assert isinstance(connect, dict)
    assert connect["path"] == "/motia.runner.v1.RunnerService/Connect" and connect["onPrototype"] is True
    assert len(connect["requests"]) > 10 and len(connect["responses"]) > 10

    # a descriptor built from another runner.proto than the one found is not trusted
    stale = json.loads(DESCRIPTOR.read_text())
    stale["sources"]["motia/runner/v1/runner.proto"] = "0" * 64
    (probe.parent / DESCRIPTOR.name).write_text(json.dumps(stale))
    again, stale_err = _load(probe)
    assert "is older than" in stale_err and "parsing motia/runner/v1/runner.proto" in stale_err
    assert again == parsed
