// Bundle src/main.ts (and the sdk-node sources it imports) into dist/runner.cjs, and prebuild
// dist/runner-proto.json: runner.proto parsed once here, so the runner's start skips protobufjs's
// .proto parser (about 250 ms of a cold start's CPU; src/transport/proto.ts loads it with fromJSON).
// npm packages stay external: they are resolved at run time from runners/node/node_modules.
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const protoDir = resolve(pkgDir, '../../proto')
/** Keep in step with PROTO_FILE and DESCRIPTOR_FORMAT in src/transport/proto.ts. */
const PROTO_FILE = 'motia/runner/v1/runner.proto'
const DESCRIPTOR_FORMAT = 1

/**
 * Parse runner.proto with the protobufjs that @grpc/proto-loader itself uses, with the parse options
 * its loadSync applies (only keepCase changes the parsed tree), and record each source file's
 * sha256 so the runner can tell a descriptor older than the .proto next to it.
 */
function protoDescriptor() {
  const requireFromLoader = createRequire(createRequire(join(pkgDir, 'package.json')).resolve('@grpc/proto-loader'))
  const Protobuf = requireFromLoader('protobufjs')
  const options = JSON.parse(readFileSync(join(pkgDir, 'src/proto-options.json'), 'utf8'))
  const root = new Protobuf.Root()
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(protoDir, target))
  root.loadSync(PROTO_FILE, { keepCase: options.keepCase })
  root.resolveAll()
  const sources = {}
  for (const file of root.files) {
    sources[relative(protoDir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex')
  }
  return { format: DESCRIPTOR_FORMAT, proto: PROTO_FILE, keepCase: options.keepCase, sources, root: root.toJSON() }
}

try {
  await build({
    entryPoints: [resolve(pkgDir, 'src/main.ts')],
    outfile: resolve(pkgDir, 'dist/runner.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  })
} catch {
  // esbuild already printed the errors.
  process.exit(1)
}
writeFileSync(resolve(pkgDir, 'dist/runner-proto.json'), JSON.stringify(protoDescriptor()) + '\n')
