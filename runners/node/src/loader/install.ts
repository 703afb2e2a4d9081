import { readFileSync, statSync } from 'node:fs'
import { extname, join, sep } from 'node:path'
import { debug } from '../diagnostics'
import { errorCode } from '../errors'
import { clearPackageTypeCache, isEsModule, isInNodeModules } from './module-kind'
import { type CompilableModule, type ExtensionHandler, NodeModule, type ResolveOptions } from './node-internals'
import type { ProjectTsconfig } from './tsconfig'
import { type SourceLoader, Transformer } from './transform'
import { registerVirtualModule, ZOD_V3_KIND_SHIM } from './virtual-modules'

/** Where the loader finds things. */
export interface LoaderOptions {
  /** Absolute project root. */
  projectDir: string
  /** runners/node: its node_modules is the fallback for bare imports (zod, ...). */
  runnerDir: string
  /** The step-author SDK, served for every `motia` / `motia/*` import. */
  sdkExports: unknown
  /** The project's tsconfig settings. */
  tsconfig: ProjectTsconfig
  /** Transform cache directory, `null` for none. */
  cacheDir: string | null
}

/** The installed loader: module invalidation for hot reload, and counters. */
export interface ProjectLoader {
  readonly transformer: Transformer
  /**
   * Before a reload: drop from the module cache every project file that changed on disk since it was
   * loaded, every project module that (transitively) imports one, and the given step files, so the
   * next `require` reads them fresh. Unchanged modules stay shared.
   * @returns the files dropped
   */
  invalidate(stepFiles: readonly string[]): string[]
}

const TS_LOADERS: Record<string, SourceLoader> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx' }
const JS_TO_TS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'], '.jsx': ['.tsx'] }

function stripBom(source: string): string {
  return source.charCodeAt(0) === 0xfeff ? source.slice(1) : source
}

function isBareRequest(request: string): boolean {
  return !request.startsWith('.') && !request.startsWith('/') && !request.startsWith('node:') && !/^[A-Za-z]:[\\/]/.test(request)
}

function mtimeOf(filename: string): number {
  try {
    return statSync(filename).mtimeMs
  } catch {
    return -1
  }
}

let installed: ProjectLoader | null = null

/**
 * Hook the CommonJS loader so project files load the way Motia 0.x loaded them:
 *   - `.ts` / `.mts` / `.cts` / `.tsx` are transformed by esbuild (type-only imports dropped);
 *   - project `.js` / `.mjs` files that are ES modules are transformed to CommonJS; CommonJS `.js`
 *     loads as-is; files under node_modules always use Node's own loader;
 *   - `motia` and `motia/*` resolve to the SDK bundled in the runner;
 *   - extensionless and `.js`-suffixed relative imports find `.ts` files;
 *   - tsconfig `paths` aliases resolve;
 *   - bare imports from project files fall back to the runner's node_modules (zod when the project
 *     has none).
 * All files share Node's one module cache, so a helper imported by two steps is one instance.
 * Install once per process.
 */
export function installProjectLoader(options: LoaderOptions): ProjectLoader {
  if (installed !== null) return installed
  const transformer = new Transformer(options.cacheDir, options.tsconfig.esbuildTsconfig)
  const sdkPath = join(options.runnerDir, '.virtual', 'motia', 'index.js')
  const zodShimPath = join(options.runnerDir, '.virtual', 'zod-v3-kind-shim.js')
  const zodToJsonSchemaDir = join(options.runnerDir, 'node_modules', 'zod-to-json-schema') + sep
  registerVirtualModule(sdkPath, options.sdkExports)
  registerVirtualModule(zodShimPath, ZOD_V3_KIND_SHIM)

  /** Project files loaded through the hooks, with their mtime when loaded. */
  const loadedAt = new Map<string, number>()

  // --- resolution -------------------------------------------------------------------------------
  const originalResolve = NodeModule._resolveFilename
  const resolveFallback = (
    request: string,
    parent: NodeJS.Module,
    isMain: boolean,
    resolveOptions: ResolveOptions | undefined,
  ): string | null => {
    const attempt = (req: string, opts?: ResolveOptions): string | null => {
      try {
        return originalResolve.call(NodeModule, req, parent, isMain, opts ?? resolveOptions)
      } catch {
        return null
      }
    }
    if (!isBareRequest(request)) {
      // TypeScript's NodeNext style: `import './helper.js'` where only helper.ts exists.
      const ext = extname(request)
      for (const tsExt of JS_TO_TS[ext] ?? []) {
        const found = attempt(request.slice(0, -ext.length) + tsExt)
        if (found !== null) return found
      }
      return null
    }
    for (const candidate of options.tsconfig.mapPath(request) ?? []) {
      const found = attempt(candidate)
      if (found !== null) return found
    }
    return attempt(request, { paths: [options.runnerDir] })
  }

  NodeModule._resolveFilename = function resolveFilename(request, parent, isMain, resolveOptions) {
    if (request === 'motia' || request.startsWith('motia/')) return sdkPath
    const parentFile = parent?.filename
    if (request === 'zod' && parentFile?.startsWith(zodToJsonSchemaDir)) return zodShimPath
    try {
      return originalResolve.call(NodeModule, request, parent, isMain, resolveOptions)
    } catch (error) {
      if (errorCode(error) !== 'MODULE_NOT_FOUND' || !parent || !parentFile || isInNodeModules(parentFile)) throw error
      if (parentFile.startsWith(options.runnerDir + sep) && !parentFile.startsWith(join(options.runnerDir, '.virtual'))) {
        throw error
      }
      const found = resolveFallback(request, parent, isMain, resolveOptions)
      if (found === null) throw error
      debug(() => `resolved '${request}' from ${parentFile} to ${found}`)
      return found
    }
  }

  // --- loading ----------------------------------------------------------------------------------
  const compileTs = (loader: SourceLoader): ExtensionHandler => (module, filename) => {
    loadedAt.set(filename, mtimeOf(filename))
    module._compile(transformer.compileFile(filename, loader), filename)
  }
  for (const [ext, loader] of Object.entries(TS_LOADERS)) NodeModule._extensions[ext] = compileTs(loader)

  const nodeJs = NodeModule._extensions['.js'] as ExtensionHandler
  NodeModule._extensions['.js'] = (module: CompilableModule, filename: string) => {
    if (isInNodeModules(filename)) return nodeJs(module, filename)
    loadedAt.set(filename, mtimeOf(filename))
    const source = stripBom(readFileSync(filename, 'utf8'))
    if (isEsModule(filename, source)) module._compile(transformer.compile(source, filename, 'js'), filename)
    else module._compile(source, filename)
  }
  const nodeMjs = NodeModule._extensions['.mjs']
  NodeModule._extensions['.mjs'] = (module: CompilableModule, filename: string) => {
    if (isInNodeModules(filename) && nodeMjs) return nodeMjs(module, filename)
    loadedAt.set(filename, mtimeOf(filename))
    module._compile(transformer.compileFile(filename, 'js'), filename)
  }

  // --- invalidation -----------------------------------------------------------------------------
  const invalidate = (stepFiles: readonly string[]): string[] => {
    clearPackageTypeCache()
    const stale = new Set<string>()
    for (const [filename, mtime] of loadedAt) if (mtimeOf(filename) !== mtime) stale.add(filename)
    if (stale.size > 0) {
      // module.children lists every module a module required (cached or not): invert it.
      const importers = new Map<string, string[]>()
      for (const [filename, mod] of Object.entries(NodeModule._cache)) {
        if (!mod || !loadedAt.has(filename)) continue
        for (const child of mod.children) {
          const list = importers.get(child.filename)
          if (list) list.push(filename)
          else importers.set(child.filename, [filename])
        }
      }
      const queue = [...stale]
      while (queue.length > 0) {
        const file = queue.pop() as string
        for (const importer of importers.get(file) ?? []) {
          if (!stale.has(importer)) {
            stale.add(importer)
            queue.push(importer)
          }
        }
      }
    }
    for (const file of stepFiles) stale.add(file)
    for (const file of stale) {
      delete NodeModule._cache[file]
      loadedAt.delete(file)
    }
    return [...stale]
  }

  installed = { transformer, invalidate }
  return installed
}
