import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { warn } from '../diagnostics'

/** compilerOptions of the project's tsconfig.json that change how a single file is transformed. */
const PASSED_OPTIONS = [
  'target',
  'experimentalDecorators',
  'useDefineForClassFields',
  'jsx',
  'jsxFactory',
  'jsxFragmentFactory',
  'jsxImportSource',
  'alwaysStrict',
] as const

/**
 * Options that would make esbuild keep imports used only as types (Motia 0.x dropped them: steps
 * write `import { ApiRouteConfig } from 'motia'` without `import type`). Always forced off.
 */
const FORCED_OPTIONS = { verbatimModuleSyntax: false, preserveValueImports: false, importsNotUsedAsValues: 'remove' }

/** What the loader takes from the project's tsconfig.json. */
export interface ProjectTsconfig {
  /** `tsconfigRaw` for esbuild's transform (it never reads tsconfig files itself). */
  esbuildTsconfig: { compilerOptions: Record<string, unknown> }
  /** Candidate files for a bare import matched by `compilerOptions.paths`, or `null` when none match. */
  mapPath(request: string): string[] | null
}

/** Parse JSON with comments and trailing commas (tsconfig.json syntax). */
export function parseJsonc(text: string): unknown {
  let out = ''
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    const next = text[i + 1]
    if (ch === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      out += text.slice(i, j + 1)
      i = j + 1
    } else if (ch === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 2
    } else {
      out += ch
      i++
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1')) as unknown
}

type Paths = Array<{ prefix: string; suffix: string; wildcard: boolean; targets: string[] }>

function compilePaths(paths: unknown, baseDir: string): Paths {
  if (typeof paths !== 'object' || paths === null) return []
  const out: Paths = []
  for (const [pattern, targets] of Object.entries(paths as Record<string, unknown>)) {
    if (!Array.isArray(targets)) continue
    const star = pattern.indexOf('*')
    out.push({
      prefix: star === -1 ? pattern : pattern.slice(0, star),
      suffix: star === -1 ? '' : pattern.slice(star + 1),
      wildcard: star !== -1,
      targets: targets.filter((t): t is string => typeof t === 'string').map((t) => resolve(baseDir, t)),
    })
  }
  // Longest prefix first, as TypeScript does.
  return out.sort((a, b) => b.prefix.length - a.prefix.length)
}

/**
 * Read `<projectDir>/tsconfig.json` (no `extends` following). A missing or unreadable file gives
 * the defaults; an unreadable one is reported once on stderr.
 */
export function readProjectTsconfig(projectDir: string): ProjectTsconfig {
  const file = join(projectDir, 'tsconfig.json')
  let compilerOptions: Record<string, unknown> = {}
  try {
    const parsed = parseJsonc(readFileSync(file, 'utf8')) as { compilerOptions?: unknown }
    if (typeof parsed.compilerOptions === 'object' && parsed.compilerOptions !== null) {
      compilerOptions = parsed.compilerOptions as Record<string, unknown>
    }
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') {
      warn(`ignoring ${file}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const passed: Record<string, unknown> = {}
  for (const key of PASSED_OPTIONS) if (compilerOptions[key] !== undefined) passed[key] = compilerOptions[key]
  const baseUrl = typeof compilerOptions.baseUrl === 'string' ? resolve(dirname(file), compilerOptions.baseUrl) : dirname(file)
  const paths = compilePaths(compilerOptions.paths, baseUrl)

  return {
    esbuildTsconfig: { compilerOptions: { ...passed, ...FORCED_OPTIONS } },
    mapPath(request: string): string[] | null {
      for (const entry of paths) {
        if (entry.wildcard) {
          if (!request.startsWith(entry.prefix) || !request.endsWith(entry.suffix)) continue
          if (request.length < entry.prefix.length + entry.suffix.length) continue
          const star = request.slice(entry.prefix.length, request.length - entry.suffix.length)
          return entry.targets.map((t) => t.replace('*', star))
        }
        if (request === entry.prefix) return entry.targets
      }
      return null
    },
  }
}
