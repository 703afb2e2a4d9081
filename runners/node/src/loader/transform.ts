import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Loader, TransformOptions } from 'esbuild'
import { debug, warn } from '../diagnostics'

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

/** An esbuild parse error, reported as a SyntaxError whose stack points at the file and line. */
function toSyntaxError(error: unknown, filename: string): Error {
  const failure = error as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }
  const first = failure.errors?.[0]
  if (!first) return error instanceof Error ? error : new Error(String(error))
  const where = first.location ? `${filename}:${first.location.line}:${first.location.column + 1}` : filename
  const syntax = new SyntaxError(`${first.text} (${where})`)
  syntax.stack = `SyntaxError: ${first.text}\n    at ${where}`
  return syntax
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

  /** CommonJS code for `source`, the content of `filename`. */
  compile(source: string, filename: string, loader: SourceLoader): string {
    const key = createHash('sha256')
      .update(this.optionsKey)
      .update('\0')
      .update(filename)
      .update('\0')
      .update(loader)
      .update('\0')
      .update(source)
      .digest('hex')
    const cached = this.readCache(key)
    if (cached !== null) {
      this.stats.cacheHits += 1
      return cached
    }
    const started = performance.now()
    const code = this.transform(source, filename, loader)
    const elapsed = performance.now() - started
    this.stats.transformed += 1
    this.stats.transformMs += elapsed
    debug(() => `transformed ${filename} in ${elapsed.toFixed(1)} ms`)
    this.writeCache(key, code)
    return code
  }

  private transform(source: string, filename: string, loader: SourceLoader): string {
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
    try {
      const result = esbuild().transformSync(source, options)
      for (const warning of result.warnings) debug(`${filename}: ${warning.text}`)
      return result.code
    } catch (error) {
      throw toSyntaxError(error, filename)
    }
  }

  private readCache(key: string): string | null {
    if (this.cacheDir === null) return null
    try {
      return readFileSync(join(this.cacheDir, `${key}.js`), 'utf8')
    } catch {
      return null
    }
  }

  private writeCache(key: string, code: string): void {
    if (this.cacheDir === null) return
    const file = join(this.cacheDir, `${key}.js`)
    const tmp = `${file}.${process.pid}.tmp`
    try {
      mkdirSync(this.cacheDir, { recursive: true })
      writeFileSync(tmp, code)
      renameSync(tmp, file)
    } catch (error) {
      warn(`transform cache disabled: cannot write ${this.cacheDir}: ${error instanceof Error ? error.message : String(error)}`)
      this.cacheDir = null
    }
  }
}
