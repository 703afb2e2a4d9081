// Generate TypeScript types for the runner proto with proto-loader-gen-types.
// Usage: node scripts/gen-types.mjs <outDir>
// The loader options come from src/proto-options.json, the same file the runtime loader uses,
// so the generated types always describe what @grpc/proto-loader really decodes.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, mkdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const pkgDir = resolve(here, '..')
const protoRoot = resolve(pkgDir, '../../proto')
const outDir = resolve(process.cwd(), process.argv[2] ?? 'src/generated')
const opts = JSON.parse(readFileSync(join(pkgDir, 'src/proto-options.json'), 'utf8'))

const args = [
  '--grpcLib=@grpc/grpc-js',
  '--includeComments',
  `--longs=${opts.longs}`,
  `--enums=${opts.enums}`,
  `--bytes=${opts.bytes}`,
  '-I', relative(pkgDir, protoRoot),
  '-O', outDir,
]
if (opts.keepCase) args.push('--keepCase')
if (opts.defaults) args.push('--defaults')
if (opts.oneofs) args.push('--oneofs')
args.push('motia/runner/v1/runner.proto')

rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
const bin = join(pkgDir, 'node_modules/.bin/proto-loader-gen-types')
execFileSync(bin, args, { cwd: pkgDir, stdio: ['ignore', 'ignore', 'inherit'] })
