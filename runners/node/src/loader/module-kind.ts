import { readFileSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'

const NODE_MODULES = `${sep}node_modules${sep}`

/** True for files that belong to installed packages (they load with Node's own loader). */
export function isInNodeModules(filename: string): boolean {
  return filename.includes(NODE_MODULES)
}

/** `"type"` of the nearest package.json, by directory (cached: package.json files do not move). */
const packageTypeByDir = new Map<string, string>()

function packageTypeOf(dir: string): string {
  const cached = packageTypeByDir.get(dir)
  if (cached !== undefined) return cached
  let type: string
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }
    type = typeof pkg.type === 'string' ? pkg.type : 'commonjs'
  } catch (error) {
    const parent = dirname(dir)
    const missing = (error as { code?: unknown }).code === 'ENOENT'
    type = missing && parent !== dir ? packageTypeOf(parent) : 'commonjs'
  }
  packageTypeByDir.set(dir, type)
  return type
}

/** Forget cached package.json types (a reload may follow an edit of package.json). */
export function clearPackageTypeCache(): void {
  packageTypeByDir.clear()
}

/** A line that starts with a static import or an export: ESM syntax (dynamic `import(` does not count). */
const ESM_SYNTAX = /^[ \t]*(?:import[ \t]*(?:[\w$*{]|["'])|export[ \t]*(?:[\w$*{]|default\b))/m

/**
 * Whether a project .js/.mjs file is an ES module (and so must be transformed to CommonJS):
 * `.mjs`, or the nearest package.json says `"type": "module"`, or the source has import/export
 * statements (a `.js` step written as ESM without a package.json saying so).
 */
export function isEsModule(filename: string, source: string): boolean {
  if (filename.endsWith('.mjs')) return true
  if (filename.endsWith('.cjs')) return false
  if (packageTypeOf(dirname(filename)) === 'module') return true
  return ESM_SYNTAX.test(source)
}
