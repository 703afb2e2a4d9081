/**
 * Installs the compile cache as a side effect of being imported: main.ts imports this module first,
 * so `_compile` is patched before the bundle requires @grpc/grpc-js and the other dependencies.
 * __dirname is dist/ once bundled, so its parent is the runner's directory (main.ts's RUNNER_DIR).
 */
import { resolve } from 'node:path'
import { type CompileCacheStats, installCompileCache } from './compile-cache'

function install(): CompileCacheStats | null {
  try {
    return installCompileCache(resolve(__dirname, '..'))
  } catch {
    return null // e.g. no home directory to find the cache in: the runner starts without it
  }
}

export const compileCache = install()
