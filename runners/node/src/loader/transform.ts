import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { readdir, stat, unlink } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { Loader, TransformOptions, TransformResult } from 'esbuild'
import { debug, warn } from '../diagnostics'
import { isEsModule, isInNodeModules } from './module-kind'

/** Bump when the transform options below change, so old cache entries are not reused. */
const TRANSFORM_VERSION = 3

/** How a file's source is parsed. */
export type SourceLoader = Extract<Loader, 'ts' | 'tsx' | 'js'>

/** Counters for debugging / measuring the loader. */
export interface TransformStats {
  transformed: number
  cacheHits: number
  transformMs: number
}

/** esbuild is loaded on first use: a warm start served from the cache never pays for it. */
let esbuildModule: typeof import('esbuild') | null = null
function esbuild(): typeof import('esbuild') {
  esbuildModule ??= require('esbuild') as typeof import('esbuild')
  return esbuildModule
}

/**
 * transformSync keeps a worker thread (a second V8 isolate) and an esbuild child process alive for
 * the next call: ~15 MB (child) plus the isolate, held for the runner's whole life although the
 * transforms come in bursts (a load, a hot reload). Stop both once no transform has run for this
 * long; the next transform starts them again (~13 ms, the cold transform cost).
 */
const ESBUILD_IDLE_MS = 1_000
let esbuildIdle: NodeJS.Timeout | null = null
/** Async batches (prefetch) in flight: esbuild is not let go under them. */
let esbuildHeld = 0
function holdEsbuild(): void {
  esbuildHeld += 1
  if (esbuildIdle !== null) {
    clearTimeout(esbuildIdle)
    esbuildIdle = null
  }
}
function letGoOfEsbuild(): void {
  esbuildHeld -= 1
  releaseEsbuildWhenIdle()
}
function releaseEsbuildWhenIdle(): void {
  if (esbuildHeld > 0) return
  if (esbuildIdle !== null) esbuildIdle.refresh()
  else {
    esbuildIdle = setTimeout(() => {
      esbuildIdle = null
      void esbuildModule?.stop()
    }, ESBUILD_IDLE_MS)
    esbuildIdle.unref()
  }
}

/** The first esbuild error of a failed transform: what we report and cache. */
interface TransformFailure {
  text: string
  line: number | null
  column: number | null
}

function firstFailure(error: unknown): TransformFailure | null {
  const failure = error as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }
  const first = failure.errors?.[0]
  if (!first) return null
  return { text: first.text, line: first.location?.line ?? null, column: first.location?.column ?? null }
}

/** A transform failure as a SyntaxError whose message and stack point at the file and line. */
function toSyntaxError(failure: TransformFailure, filename: string): SyntaxError {
  const where = failure.line === null ? filename : `${filename}:${failure.line}:${(failure.column ?? 0) + 1}`
  const syntax = new SyntaxError(`${failure.text} (${where})`)
  syntax.stack = `SyntaxError: ${failure.text}\n    at ${where}`
  return syntax
}

/** A prefetched transform (see Transformer.prefetch), waiting for the compile() that asks for it. */
type Prefetched = { code: string } | { failure: TransformFailure }

/** What install.ts's extension handlers pass to compile() for a file: keep in step with them. */
function compileInput(filename: string): { source: string; loader: SourceLoader } | null {
  const ext = extname(filename)
  if (isInNodeModules(filename)) return null
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') return { source: readFileSync(filename, 'utf8'), loader: 'ts' }
  if (ext === '.tsx') return { source: readFileSync(filename, 'utf8'), loader: 'tsx' }
  if (ext === '.mjs') return { source: readFileSync(filename, 'utf8'), loader: 'js' }
  if (ext !== '.js') return null
  const raw = readFileSync(filename, 'utf8')
  const source = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw
  return isEsModule(filename, source) ? { source, loader: 'js' } : null
}

/**
 * Turns TypeScript and ES-module JavaScript into CommonJS with esbuild's `transform` (one file at a
 * time, no bundling: every import stays a `require`, so all steps share one module graph).
 * Output carries an inline source map so stacks point at the original lines, and is cached on disk
 * under `<project>/.motia/cache/node/<sha256>.js`, keyed by path, content and options.
 */
export class Transformer {
  readonly stats: TransformStats = { transformed: 0, cacheHits: 0, transformMs: 0 }
  private cacheDir: string | null
  private readonly prefetched = new Map<string, Prefetched>()
  private readonly optionsKey: string

  /**
   * @param cacheDir - where to cache output; `null` disables the cache
   * @param tsconfigRaw - the project's relevant compilerOptions (see readProjectTsconfig)
   */
  constructor(
    cacheDir: string | null,
    private readonly tsconfigRaw: { compilerOptions: Record<string, unknown> },
  ) {
    this.cacheDir = cacheDir
    this.optionsKey = JSON.stringify([TRANSFORM_VERSION, tsconfigRaw])
  }

  /** CommonJS code for `filename` (read from disk). */
  compileFile(filename: string, loader: SourceLoader): string {
    return this.compile(readFileSync(filename, 'utf8'), filename, loader)
  }

  private keyOf(source: string, filename: string, loader: SourceLoader): string {
    return createHash('sha256')
      .update(this.optionsKey)
      .update('\0')
      .update(filename)
      .update('\0')
      .update(loader)
      .update('\0')
      .update(source)
      .digest('hex')
  }

  /**
   * Transform the given files (a LoadSteps' step files) that the cache lacks, all at once with
   * esbuild's async API, ahead of the require()s that compile them one by one. transformSync runs
   * esbuild from a worker thread, a second V8 isolate that costs ~70 ms of CPU to start on the
   * bench machine, and serializes the transforms; the async API talks to the esbuild process
   * directly and overlaps them (cold project's 7 files: ~100 ms -> ~30 ms CPU, docs/performance.md).
   * The results wait in memory, keyed like the cache, so compile() output and errors (file:line)
   * are exactly what compile() alone gives; a file changed in between just misses. Never throws.
   */
  async prefetch(filenames: readonly string[]): Promise<void> {
    this.prefetched.clear()
    const jobs: Array<{ key: string; source: string; filename: string; loader: SourceLoader }> = []
    for (const path of filenames) {
      try {
        // require() compiles a file under its real path (symlinks resolved): key it the same way
        const filename = realpathSync(path)
        const input = compileInput(filename)
        if (input === null) continue
        const key = this.keyOf(input.source, filename, input.loader)
        if (this.hasCache(`${key}.js`) || this.hasCache(`${key}.error.json`)) continue
        jobs.push({ key, filename, ...input })
      } catch {
        // unreadable: its require() reports it
      }
    }
    if (jobs.length === 0) return
    const started = performance.now()
    holdEsbuild() // an idle timer armed by an earlier use must not stop esbuild under this batch
    await Promise.all(
      jobs.map(async (job) => {
        try {
          const result = await esbuild().transform(job.source, this.transformOptions(job.source, job.filename, job.loader))
          this.prefetched.set(job.key, { code: this.finish(result, job.filename) })
        } catch (error) {
          const failure = firstFailure(error)
          if (failure !== null) this.prefetched.set(job.key, { failure })
        }
      }),
    ).finally(letGoOfEsbuild)
    const elapsed = performance.now() - started
    this.stats.transformed += jobs.length
    this.stats.transformMs += elapsed
    debug(() => `transformed ${jobs.length} file(s) in one batch in ${elapsed.toFixed(1)} ms`)
  }

  /** CommonJS code for `source`, the content of `filename`. */
  compile(source: string, filename: string, loader: SourceLoader): string {
    const key = this.keyOf(source, filename, loader)
    const prefetched = this.prefetched.get(key)
    if (prefetched !== undefined) {
      this.prefetched.delete(key)
      if ('failure' in prefetched) {
        this.writeCache(`${key}.error.json`, JSON.stringify(prefetched.failure))
        throw toSyntaxError(prefetched.failure, filename)
      }
      this.writeCache(`${key}.js`, prefetched.code)
      return prefetched.code
    }
    const cached = this.readCache(`${key}.js`)
    if (cached !== null) {
      this.stats.cacheHits += 1
      return cached
    }
    // A file that failed to parse fails the same way until it changes: the cached failure spares
    // a warm start from starting esbuild just to report it.
    const cachedFailure = this.readCache(`${key}.error.json`)
    if (cachedFailure !== null) {
      this.stats.cacheHits += 1
      throw toSyntaxError(JSON.parse(cachedFailure) as TransformFailure, filename)
    }
    const started = performance.now()
    let code: string
    try {
      code = this.transform(source, filename, loader)
    } catch (error) {
      const failure = firstFailure(error)
      if (failure === null) throw error
      this.writeCache(`${key}.error.json`, JSON.stringify(failure))
      throw toSyntaxError(failure, filename)
    } finally {
      const elapsed = performance.now() - started
      this.stats.transformed += 1
      this.stats.transformMs += elapsed
      debug(() => `transformed ${filename} in ${elapsed.toFixed(1)} ms`)
    }
    this.writeCache(`${key}.js`, code)
    return code
  }

  private transform(source: string, filename: string, loader: SourceLoader): string {
    let result
    try {
      result = esbuild().transformSync(source, this.transformOptions(source, filename, loader))
    } finally {
      releaseEsbuildWhenIdle() // a failed transform (a syntax error) started esbuild too
    }
    return this.finish(result, filename)
  }

  private finish(result: TransformResult, filename: string): string {
    for (const warning of result.warnings) debug(`${filename}: ${warning.text}`)
    return result.code
  }

  private transformOptions(source: string, filename: string, loader: SourceLoader): TransformOptions {
    const usesImportMeta = source.includes('import.meta')
    const options: TransformOptions = {
      loader,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      sourcefile: filename,
      tsconfigRaw: this.tsconfigRaw as TransformOptions['tsconfigRaw'],
      // Keep `import()` inside the CommonJS graph (Node's ESM loader knows nothing of .ts).
      supported: { 'dynamic-import': false },
      logLevel: 'silent',
    }
    if (usesImportMeta) {
      options.define = {
        'import.meta.url': '__motia_import_meta_url',
        'import.meta.dirname': '__dirname',
        'import.meta.filename': '__filename',
      }
      options.banner = 'var __motia_import_meta_url = require("node:url").pathToFileURL(__filename).href;'
    }
    return options
  }

  /**
   * Delete cache entries written more than `maxAgeDays` ago (each edit of a file adds an entry; a
   * still-used old entry is simply re-created on its next load). Runs in the background, never throws.
   */
  async prune(maxAgeDays = 30): Promise<number> {
    const dir = this.cacheDir
    if (dir === null) return 0
    const cutoff = Date.now() - maxAgeDays * 86_400_000
    let removed = 0
    try {
      for (const name of await readdir(dir)) {
        const file = join(dir, name)
        try {
          if ((await stat(file)).mtimeMs < cutoff) {
            await unlink(file)
            removed += 1
          }
        } catch {
          // raced with another runner: fine
        }
      }
    } catch {
      // no cache directory yet
    }
    if (removed > 0) debug(`pruned ${removed} old transform cache entr${removed === 1 ? 'y' : 'ies'}`)
    return removed
  }

  private hasCache(name: string): boolean {
    if (this.cacheDir === null) return false
    try {
      return statSync(join(this.cacheDir, name)).isFile()
    } catch {
      return false
    }
  }

  private readCache(name: string): string | null {
    if (this.cacheDir === null) return null
    try {
      return readFileSync(join(this.cacheDir, name), 'utf8')
    } catch {
      return null
    }
  }

  private writeCache(name: string, code: string): void {
    if (this.cacheDir === null) return
    const file = join(this.cacheDir, name)
    const tmp = `${file}.${process.pid}.tmp`
    try {
      // 0700 for every folder made, .motia/ included: the runner may start before the core has made
      // .motia/ itself (cold start spawns runners first), and the core keeps it private (docs/security.md)
      mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 })
      writeFileSync(tmp, code)
      renameSync(tmp, file)
    } catch (error) {
      warn(`transform cache disabled: cannot write ${this.cacheDir}: ${error instanceof Error ? error.message : String(error)}`)
      this.cacheDir = null
    }
  }
}
