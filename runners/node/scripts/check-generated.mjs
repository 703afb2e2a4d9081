// Fail when src/generated is not what `npm run gen` produces from proto/ today.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const checkedIn = join(pkgDir, 'src/generated')
const tmp = mkdtempSync(join(tmpdir(), 'motia-node-gen-'))

function listFiles(dir) {
  const out = []
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(dir, p))
    }
  }
  try {
    walk(dir)
  } catch {
    // a missing directory has no files
  }
  return out.sort()
}

try {
  execFileSync(process.execPath, [join(pkgDir, 'scripts/gen-types.mjs'), tmp], { stdio: ['ignore', 'ignore', 'inherit'] })
  const fresh = listFiles(tmp)
  const current = listFiles(checkedIn)
  const problems = []
  for (const f of fresh) {
    if (!current.includes(f)) problems.push(`missing: src/generated/${f}`)
    else if (readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(checkedIn, f), 'utf8')) problems.push(`differs: src/generated/${f}`)
  }
  for (const f of current) if (!fresh.includes(f)) problems.push(`stale:   src/generated/${f}`)
  if (problems.length > 0) {
    console.error(problems.slice(0, 20).join('\n'))
    console.error('src/generated is out of date with proto/: run `npm run gen` in runners/node and commit the result')
    process.exitCode = 1
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
