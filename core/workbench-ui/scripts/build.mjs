// Bundle src/main.tsx into core/motia_core/workbench/static/ (app.js, app.css, index.html): one IIFE
// script and one stylesheet, no CDN, nothing loaded at run time but the admin API.
import { build } from 'esbuild'
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = resolve(pkgDir, '../motia_core/workbench/static')
mkdirSync(outDir, { recursive: true })

try {
  await build({
    entryPoints: { app: resolve(pkgDir, 'src/main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  })
  copyFileSync(resolve(pkgDir, 'src/index.html'), resolve(outDir, 'index.html'))
} catch {
  // esbuild already printed the errors.
  process.exit(1)
}
