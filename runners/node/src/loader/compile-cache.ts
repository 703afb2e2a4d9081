/**
 * A V8 code cache for the runner's own dependencies (@grpc/grpc-js, protobufjs, esbuild's JS API, zod),
 * the role Node 22's `module.enableCompileCache()` plays; Node 20 has none. Compiling their CommonJS
 * is a good part of the runner's start (docs/performance.md, "Cold start"): with the cache, V8
 * deserializes the functions a previous start compiled instead of parsing and compiling them again.
 *
 * Only files under the runner's own node_modules are cached: they are the same for every project, so
 * one cache per runner install serves a fresh checkout too. The cache is one file per Node version,
 * architecture and runner directory, under MOTIA_NODE_COMPILE_CACHE (a directory; `off` disables it)
 * or `$XDG_CACHE_HOME/motia-core/node-compile-cache` (`~/.cache/...`).
 *
 * V8 checks that cached data fits its version and flags but not the source text (only its length),
 * so each entry records the sha1 of the source it was made from and is used only for that exact text.
 * The file is written (temporary file, then rename) only when a start compiled something the cache
 * lacked, once: 3 s after start-up, so the functions the step load compiled are in, or at exit if sooner.
 *
 * Imported first by main.ts: it must patch `_compile` before the bundle requires its dependencies.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import Module from 'node:module'
import { homedir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import vm from 'node:vm'
import { debug } from '../diagnostics'

const MAGIC = 'motia-node-compile-cache 1\n'
const FLUSH_AFTER_MS = 3_000

/** One cached script: the sha1 of its source and where its V8 data sits in the file. */
interface IndexEntry {
  sha1: string
  offset: number
  length: number
}

interface CompileModule {
  exports: unknown
  require(id: string): unknown
  _compile(content: string, filename: string): unknown
}

interface ModuleStatics {
  prototype: CompileModule
  wrap(script: string): string
  _resolveFilename(request: string, parent: CompileModule, isMain: boolean, options?: { paths?: string[] }): string
  _resolveLookupPaths(request: string, parent: CompileModule): string[] | null
  _extensions: unknown
  _cache: unknown
}

/** What one start did with the cache (the debug line, and tests through it). */
export interface CompileCacheStats {
  file: string
  hits: number
  compiled: number
  rejected: number
}

/** The cache file for this Node, architecture and runner directory, or null when disabled. */
export function compileCacheFile(runnerDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const setting = env.MOTIA_NODE_COMPILE_CACHE
  if (setting === 'off') return null
  const base = setting || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'motia-core', 'node-compile-cache')
  const dirKey = createHash('sha1').update(runnerDir).digest('hex').slice(0, 12)
  return join(resolve(base), `${process.version}-${process.arch}-${dirKey}.bin`)
}

function readCache(file: string): { index: Map<string, IndexEntry>; data: Buffer } {
  const empty = { index: new Map<string, IndexEntry>(), data: Buffer.alloc(0) }
  let buf: Buffer
  try {
    buf = readFileSync(file)
  } catch {
    return empty // no cache yet
  }
  try {
    const magic = Buffer.byteLength(MAGIC)
    if (buf.toString('latin1', 0, magic) !== MAGIC) throw new Error('not a compile cache file')
    const indexLength = buf.readUInt32LE(magic)
    const indexStart = magic + 4
    const parsed = JSON.parse(buf.toString('utf8', indexStart, indexStart + indexLength)) as Record<string, IndexEntry>
    const data = buf.subarray(indexStart + indexLength)
    const index = new Map<string, IndexEntry>()
    for (const [name, entry] of Object.entries(parsed)) {
      if (entry.offset >= 0 && entry.length > 0 && entry.offset + entry.length <= data.length) index.set(name, entry)
    }
    return { index, data }
  } catch (error) {
    debug(`compile cache ${file} ignored: ${error instanceof Error ? error.message : String(error)}`)
    return empty
  }
}

/**
 * Patch `Module.prototype._compile` so the runner's node_modules are compiled through `vm.Script` with
 * cached data. Everything else (steps, the project's packages) goes to Node's own `_compile`.
 */
export function installCompileCache(runnerDir: string): CompileCacheStats | null {
  const file = compileCacheFile(runnerDir)
  if (file === null) return null
  const NodeModule = Module as unknown as ModuleStatics
  const prefix = join(runnerDir, 'node_modules') + sep
  const { index, data } = readCache(file)
  const stats: CompileCacheStats = { file, hits: 0, compiled: 0, rejected: 0 }
  const scripts = new Map<string, { sha1: string; script: vm.Script }>()
  const original = NodeModule.prototype._compile
  // Dynamic import() inside a cached module resolves as it would in Node's own CommonJS loader.
  const importModuleDynamically = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER

  NodeModule.prototype._compile = function compile(this: CompileModule, content: string, filename: string) {
    // A hashbang is valid only at the very start of a script, not inside Module.wrap's function.
    if (!filename.startsWith(prefix) || content.startsWith('#!') || importModuleDynamically === undefined) {
      return original.call(this, content, filename)
    }
    const sha1 = createHash('sha1').update(content).digest('hex')
    const entry = index.get(filename)
    const cachedData = entry?.sha1 === sha1 ? data.subarray(entry.offset, entry.offset + entry.length) : undefined
    const script = new vm.Script(NodeModule.wrap(content), { filename, cachedData, importModuleDynamically })
    const fromCache = cachedData !== undefined && !script.cachedDataRejected
    if (fromCache) stats.hits += 1
    else if (cachedData !== undefined) stats.rejected += 1
    else stats.compiled += 1
    scripts.set(filename, { sha1, script })
    // The `require` Node's own _compile gives a module (lib/internal/modules/helpers.js makeRequireFunction).
    const mod = this
    const require = ((id: string) => mod.require(id)) as NodeJS.Require
    const resolveFn = ((request: string, options?: { paths?: string[] }) =>
      NodeModule._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve
    resolveFn.paths = (request: string) => NodeModule._resolveLookupPaths(request, mod)
    require.resolve = resolveFn
    require.main = process.mainModule
    require.extensions = NodeModule._extensions as NodeJS.Require['extensions']
    require.cache = NodeModule._cache as NodeJS.Require['cache']
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown
    return wrapper.call(mod.exports, mod.exports, require, mod, filename, dirname(filename))
  }

  let flushed = false
  const flush = (): void => {
    if (flushed) return
    flushed = true
    if (stats.compiled + stats.rejected > 0) writeCache(file, scripts)
    debug(
      `compile cache: ${stats.hits} hit(s), ${stats.compiled} compiled, ${stats.rejected} rejected (${file})`,
    )
  }
  setTimeout(flush, FLUSH_AFTER_MS).unref()
  process.once('exit', flush)
  return stats
}

/**
 * Write every script's current code cache: the data V8 makes after the code ran includes the
 * functions compiled lazily since, which is what the next start needs. Failures only cost the cache.
 */
function writeCache(file: string, scripts: Map<string, { sha1: string; script: vm.Script }>): void {
  const started = performance.now()
  const index: Record<string, IndexEntry> = {}
  const chunks: Buffer[] = []
  let offset = 0
  for (const [name, { sha1, script }] of scripts) {
    const chunk = script.createCachedData()
    index[name] = { sha1, offset, length: chunk.length }
    chunks.push(chunk)
    offset += chunk.length
  }
  const indexBuf = Buffer.from(JSON.stringify(index))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(indexBuf.length)
  const temp = `${file}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(temp, Buffer.concat([Buffer.from(MAGIC, 'latin1'), length, indexBuf, ...chunks]))
    renameSync(temp, file) // atomic: another runner reading it sees the old file or the new one
    debug(`compile cache written: ${scripts.size} script(s), ${offset} bytes in ${(performance.now() - started).toFixed(1)} ms`)
  } catch (error) {
    debug(`compile cache not written to ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
