/**
 * Motia's project config file, `motia.config.ts` / `motia.config.js` (docs/configuration.md).
 *
 * It is loaded by the same loader as step files (esbuild, `motia` resolving to the SDK, zod from the
 * project or the runner) in two places:
 *   - `runner.cjs --eval-config <file>`: a short-lived process the core runs before it opens its
 *     storage, because the file's `redis` key decides which storage that is. It prints the config as
 *     JSON on one marked stdout line and exits;
 *   - the long-lived runner, when the core sends the file with STEP_FILE_KIND_PROJECT_CONFIG: its
 *     `streamAuth.authenticate` then answers TRIGGER_STREAM_AUTH like a stream auth file's handler.
 */
import { createRequire } from 'node:module'
import { relative } from 'node:path'
import { describeError, errorCode } from './errors'
import type { StepFile } from './protocol/messages'
import type { LoadedStep } from './steps/registry'
import { zodFlavor, zodToJson } from './steps/schemas'

/** The stdout line prefix of the --eval-config answer; other stdout lines are the file's own output. */
export const EVAL_RESULT_MARKER = '@@motia-config-result@@ '

/** Why a config file could not be read; `line` is 0 when it is unknown. */
export class ProjectConfigError extends Error {
  override name = 'ProjectConfigError'
  constructor(
    readonly errorType: string,
    message: string,
    readonly line: number,
    stack = '',
  ) {
    super(message)
    this.stack = stack
  }
}

/** The line of `file` an error points at: the first stack frame (or esbuild location) in that file. */
export function lineIn(file: string, thrown: unknown): number {
  const { message, stack } = describeError(thrown)
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const found = new RegExp(`${escaped}:(\\d+)`).exec(`${stack}\n${message}`)
  return found ? Number(found[1]) : 0
}

/**
 * Import the file and return its default export (`export default config({...})`, or
 * `module.exports = {...}` in CommonJS).
 */
export function importProjectConfig(file: string, rel: string): Record<string, unknown> {
  let mod: unknown
  try {
    mod = createRequire(file)(file)
  } catch (thrown) {
    const error = describeError(thrown)
    const type = errorCode(thrown) === 'MODULE_NOT_FOUND' ? 'ModuleNotFoundError' : error.type
    throw new ProjectConfigError(type, error.message, lineIn(file, thrown), error.stack)
  }
  const record = typeof mod === 'object' && mod !== null ? (mod as Record<string, unknown>) : {}
  const value = 'default' in record ? record.default : mod
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
    throw new ProjectConfigError(
      'InvalidConfigError',
      `${rel} must export the project config object as its default export (export default config({...})), got ${got}`,
      0,
    )
  }
  return value as Record<string, unknown>
}

/**
 * The config file as the long-lived runner holds it: a step whose handler is
 * `streamAuth.authenticate` (TRIGGER_STREAM_AUTH calls `handler(request, ctx)`, and authenticate
 * takes the request alone), and its manifest JSON.
 */
export function loadProjectConfigStep(file: StepFile): { step: LoadedStep; configJson: Buffer } {
  const config = importProjectConfig(file.path, file.relativePath)
  const authenticate = authenticateOf(config)
  return {
    step: {
      stepId: file.stepId,
      path: file.path,
      relativePath: file.relativePath,
      config: config as LoadedStep['config'],
      handler: authenticate === null ? null : (request: unknown) => authenticate(request),
      middleware: [],
    },
    configJson: projectConfigJson(config, file.path),
  }
}

/** `streamAuth.authenticate`, when the config has one. */
export function authenticateOf(config: Record<string, unknown>): ((...args: unknown[]) => unknown) | null {
  const streamAuth = config.streamAuth
  if (typeof streamAuth !== 'object' || streamAuth === null) return null
  const authenticate = (streamAuth as Record<string, unknown>).authenticate
  return typeof authenticate === 'function' ? (authenticate as (...args: unknown[]) => unknown) : null
}

function className(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object'
}

/**
 * The config as JSON. Unlike a step config nothing here is refused: a project config holds adapter
 * instances, plugin builders and an Express hook that motia-core only has to name in a warning, so
 * functions become `{"$function": name}`, zod schemas JSON Schema, and any other non-JSON value
 * `{"$object": "<class name>"}`.
 */
export function projectConfigJson(config: Record<string, unknown>, fromFile: string): Buffer {
  const ancestors = new Set<object>()
  const walk = (value: unknown, path: string[]): unknown => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        return Number.isFinite(value) ? value : { $object: String(value) }
      case 'undefined':
        return undefined
      case 'function':
        return { $function: value.name || 'anonymous' }
      case 'bigint':
        return { $object: 'BigInt' }
      case 'symbol':
        return { $object: 'Symbol' }
      default:
        break
    }
    if (value === null) return null
    const flavor = zodFlavor(value)
    if (flavor !== null) {
      try {
        return zodToJson(value, flavor, fromFile, 'output')
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error)
        return { $object: `zod ${flavor} schema`, error: `cannot convert it to JSON Schema: ${detail}` }
      }
    }
    const object = value as object
    if (ancestors.has(object)) return { $object: 'circular reference' }
    ancestors.add(object)
    try {
      if (Array.isArray(object)) return object.map((item, i) => walk(item, [...path, String(i)]) ?? null)
      const proto = Object.getPrototypeOf(object) as unknown
      if (proto !== Object.prototype && proto !== null) return { $object: className(object) }
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(object)) {
        const item = walk((object as Record<string, unknown>)[key], [...path, key])
        if (item !== undefined) out[key] = item
      }
      return out
    } finally {
      ancestors.delete(object)
    }
  }
  return Buffer.from(JSON.stringify(walk(config, [])), 'utf8')
}

/**
 * `--eval-config <file>`: print `{ok: true, config}` or `{ok: false, error: {type, message, line,
 * stack}}` on one marked stdout line. The caller exits the process afterwards, so timers or sockets
 * the file opened (plugins, adapter clients) do not keep it alive.
 */
export function evalProjectConfig(file: string, projectDir: string): void {
  let answer: unknown
  try {
    const config = importProjectConfig(file, relative(projectDir, file) || file)
    answer = { ok: true, config: JSON.parse(projectConfigJson(config, file).toString('utf8')) as unknown }
  } catch (thrown) {
    const known = thrown instanceof ProjectConfigError ? thrown : null
    const error = describeError(thrown)
    answer = {
      ok: false,
      error: {
        type: known?.errorType ?? error.type,
        message: error.message,
        line: known?.line ?? lineIn(file, thrown),
        stack: error.stack,
      },
    }
  }
  process.stdout.write(`\n${EVAL_RESULT_MARKER}${JSON.stringify(answer)}\n`)
}
