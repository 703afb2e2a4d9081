"""What each import costs a fresh process: RSS and anonymous memory (its heap: what it allocated, as
opposed to the program and library files it maps) after importing modules one by one, cumulatively.
The floor under an idle process's memory (bench/README.md, "Resources").

    .venv/bin/python bench/benchlib/import_floor.py            # the core's, the Python runner's, the Node runner's
    .venv/bin/python bench/benchlib/import_floor.py --python asyncio grpc.aio
    .venv/bin/python bench/benchlib/import_floor.py --node @grpc/grpc-js esbuild

Python modules are imported by the interpreter running this script (the venv's, with `site`); Node
packages are resolved from runners/node (the runner's node_modules).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "runners/node"

CORE = (
    "asyncio",
    "uvloop",
    "orjson",
    "aiohttp.web",
    "grpc.aio",
    "motia_core._proto.motia.runner.v1.runner_pb2",
    "motia_core.app",
    "motia_core.http.app",
)
PYTHON_RUNNER = (
    "asyncio",
    "uvloop",
    "orjson",
    "grpc.aio",
    "motia_core._proto.motia.runner.v1.runner_pb2",
    "motia_runner.main",
)
NODE_RUNNER = ("@grpc/grpc-js", "@grpc/proto-loader", "esbuild")

_PY = """
import importlib, sys
def mem():
    d = {}
    for line in open('/proc/self/smaps_rollup'):
        k, v = line.split()[:2]
        d[k] = int(v) / 1024 if v.isdigit() else 0
    return d['Rss:'], d['Anonymous:']
print('(nothing imported)', *mem(), flush=True)
for m in sys.argv[1:]:
    importlib.import_module(m)
    print(m, *mem(), flush=True)
"""

_JS = """
const fs = require('fs')
function mem() {
  const d = {}
  for (const line of fs.readFileSync('/proc/self/smaps_rollup', 'utf8').split('\\n')) {
    const [k, v] = line.split(/\\s+/)
    d[k] = Number(v) / 1024
  }
  return `${d['Rss:']} ${d['Anonymous:']}`
}
console.log('(nothing required)', mem())
for (const m of process.argv.slice(1)) {
  require(require.resolve(m, { paths: [process.cwd()] }))
  console.log(m, mem())
}
"""


def show(title: str, argv: list[str], cwd: Path | None = None) -> None:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=True).stdout
    print(f"{title}\n  {'after importing':48} {'RSS':>7} {'anon':>7} {'+anon':>7}")
    prev: float | None = None
    for line in out.splitlines():
        name, rss, anon = line.rsplit(maxsplit=2)
        a = float(anon)
        delta = "" if prev is None else f"{a - prev:+7.1f}"
        print(f"  {name[:48]:48} {float(rss):7.1f} {a:7.1f} {delta:>7}")
        prev = a


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", nargs="+", metavar="MODULE", help="Python modules, in order")
    ap.add_argument("--node", nargs="+", metavar="PACKAGE", help="Node packages, in order")
    args = ap.parse_args()
    if args.python or args.node:
        if args.python:
            show("python", [sys.executable, "-c", _PY, *args.python])
        if args.node:
            show("node", ["node", "-e", _JS, *args.node], cwd=NODE_DIR)
        return 0
    show("the core's imports (MB)", [sys.executable, "-c", _PY, *CORE])
    show("the Python runner's imports (MB)", [sys.executable, "-c", _PY, *PYTHON_RUNNER])
    show("the Node runner's packages (MB)", ["node", "-e", _JS, *NODE_RUNNER], cwd=NODE_DIR)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
