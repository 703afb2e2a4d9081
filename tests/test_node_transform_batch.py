"""The Node runner transforms a load's step files in one async esbuild batch before requiring them
(runners/node/src/loader/transform.ts, Transformer.prefetch, awaited by session.ts on LoadSteps):
compile() then returns exactly what a one-file transformSync gives, code and file:line errors alike,
without transforming again, and a file edited in between is transformed afresh."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

NODE_DIR = ROOT / "runners" / "node"

# For each file: compile() by a Transformer that prefetched the whole list, then by a fresh one
# (transformSync); prints both results, and the prefetching Transformer's counters.
ENTRY = """
import { Transformer } from '@src/loader/transform'
const [files, edited] = JSON.parse(process.argv[2]) as [Array<[string, 'ts' | 'js']>, string]
const tsconfig = { compilerOptions: {} }
function attempt(t: Transformer, file: string, loader: 'ts' | 'js') {
  try {
    return { code: t.compileFile(file, loader) }
  } catch (error: any) {
    return { error: `${error.name}: ${error.message}`, stack: error.stack }
  }
}
async function main() {
  const batched = new Transformer(null, tsconfig)
  await batched.prefetch(files.map(([file]) => file))
  const afterPrefetch = { ...batched.stats }
  require('fs').appendFileSync(edited, '\\nexport const late = 1\\n')
  const out = files.map(([file, loader]) => ({
    file, batched: attempt(batched, file, loader), single: attempt(new Transformer(null, tsconfig), file, loader),
  }))
  process.stdout.write(JSON.stringify({ afterPrefetch, afterCompile: batched.stats, out }))
}
void main()
"""

STEPS = {
    "a.step.ts": "import { z } from 'zod'\nexport const config = { name: 'A' as const, input: z.object({}) }\n",
    "b.step.ts": "export const config = { name: 'B' }\nexport const handler = async (): Promise<number> => 1\n",
    "c.step.js": "export const config = { name: 'C', here: import.meta.url }\n",
    "broken.step.ts": "export const config = {\n  name: 'Broken',\n  oops: ,\n}\n",
    "edited.step.ts": "export const config = { name: 'Edited' }\n",
}


@pytest.mark.timeout(120)
def test_batched_transforms_give_the_one_file_results_and_skip_edited_files(tmp_path: Path) -> None:
    for name, text in STEPS.items():
        (tmp_path / name).write_text(text)
    entry = tmp_path / "entry.ts"
    entry.write_text(ENTRY)
    probe = tmp_path / "probe.cjs"
    script = (
        "require('esbuild').buildSync({entryPoints: [process.argv[1]], outfile: process.argv[2], bundle: true,"
        " platform: 'node', format: 'cjs', packages: 'external', logLevel: 'error', alias: {'@src': process.argv[3]}})"
    )
    subprocess.run(["node", "-e", script, str(entry), str(probe), str(NODE_DIR / "src")], cwd=NODE_DIR, check=True)
    files = [[str(tmp_path / name), "js" if name.endswith(".js") else "ts"] for name in STEPS]
    argv = ["node", str(probe), json.dumps([files, str(tmp_path / "edited.step.ts")])]
    env = {"PATH": "/usr/bin:/bin", "NODE_PATH": str(NODE_DIR / "node_modules")}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)

    assert report["afterPrefetch"]["transformed"] == len(STEPS)
    # the four unedited files came from the batch; only the edited one was transformed again
    assert report["afterCompile"]["transformed"] == len(STEPS) + 1
    for row in report["out"]:
        assert row["batched"] == row["single"], row["file"]
    by_name = {Path(row["file"]).name: row["batched"] for row in report["out"]}
    broken = tmp_path / "broken.step.ts"
    assert by_name["broken.step.ts"]["error"] == f'SyntaxError: Unexpected "," ({broken}:3:9)'
    assert by_name["edited.step.ts"]["code"].count("late") >= 1
    assert "__motia_import_meta_url" in by_name["c.step.js"]["code"]
