import { type SchemaIo, zodFlavor, zodToJson } from './schemas'

/** A config value that cannot be sent as JSON; the message names the field path. */
export class ConfigSerializationError extends Error {
  override name = 'ConfigSerializationError'
  constructor(
    readonly fieldPath: string,
    detail: string,
  ) {
    super(`${fieldPath}: ${detail}`)
  }
}

const OMIT = Symbol('omit')

/** Schema slots and the direction they describe. Other zod schemas found in a config are converted as `input`. */
function schemaIo(path: readonly string[]): SchemaIo {
  return path[1] === 'responseSchema' ? 'output' : 'input'
}

function describeType(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object'
  return `${name} is not JSON`
}

/**
 * The `config` export as JSON, verbatim except that
 *   - functions become `{"$function": "<name>"}` (middleware entries, canAccess, ...),
 *   - zod schemas (v3 or v4, wherever they are: input, bodySchema, responseSchema.<status>, ...)
 *     become JSON Schema, converted with the zod that built them,
 *   - `undefined` object properties are left out (as JSON.stringify does).
 * Anything else that is not plain JSON (Date, Map, class instances, BigInt, NaN, cycles) throws a
 * {@link ConfigSerializationError} naming the field, e.g. `config.foo.bar: Date is not JSON`.
 *
 * @param config - the `config` export
 * @param fromFile - the step file (zod is resolved from there)
 */
export function serializeConfig(config: object, fromFile: string): Buffer {
  const ancestors = new Set<object>()

  const walk = (value: unknown, path: string[]): unknown => {
    const at = (): string => path.join('.')
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        if (!Number.isFinite(value)) throw new ConfigSerializationError(at(), `${value} is not JSON`)
        return value
      case 'undefined':
        return OMIT
      case 'function':
        return { $function: value.name || 'anonymous' }
      case 'bigint':
        throw new ConfigSerializationError(at(), 'BigInt is not JSON')
      case 'symbol':
        throw new ConfigSerializationError(at(), 'Symbol is not JSON')
      case 'object':
        break
    }
    if (value === null) return null
    const flavor = zodFlavor(value)
    if (flavor !== null) {
      try {
        return zodToJson(value, flavor, fromFile, schemaIo(path))
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error)
        throw new ConfigSerializationError(at(), `cannot convert the zod ${flavor} schema to JSON Schema: ${detail}`)
      }
    }
    if (ancestors.has(value)) throw new ConfigSerializationError(at(), 'circular reference')
    ancestors.add(value)
    try {
      if (Array.isArray(value)) {
        return value.map((item, index) => {
          const out = walk(item, [...path, String(index)])
          return out === OMIT ? null : out
        })
      }
      const proto = Object.getPrototypeOf(value) as unknown
      if (proto !== Object.prototype && proto !== null) throw new ConfigSerializationError(at(), describeType(value))
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(value)) {
        const item = walk((value as Record<string, unknown>)[key], [...path, key])
        if (item !== OMIT) out[key] = item
      }
      return out
    } finally {
      ancestors.delete(value)
    }
  }

  return Buffer.from(JSON.stringify(walk(config, ['config'])), 'utf8')
}

/** The callables in `config.middleware`, in order (non-functions are ignored). */
export function middlewareOf(config: Record<string, unknown>): Array<(...args: unknown[]) => unknown> {
  const list = config.middleware
  if (!Array.isArray(list)) return []
  return list.filter((entry): entry is (...args: unknown[]) => unknown => typeof entry === 'function')
}
