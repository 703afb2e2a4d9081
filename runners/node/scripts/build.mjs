// Bundle src/main.ts (and the sdk-node sources it imports) into dist/runner.cjs.
// npm packages stay external: they are resolved at run time from runners/node/node_modules.
import { build } from 'esbuild'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')

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
