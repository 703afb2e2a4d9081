import { createRequire } from 'node:module'
import { dirname } from 'node:path'

/** JSON Schema as produced by the converters. */
export type JsonSchemaObject = Record<string, unknown>

/** Which zod produced a schema object. */
export type ZodFlavor = 'v3' | 'v4'

/**
 * Recognise a zod schema by shape: v4 schemas (classic and mini) carry `_zod`; v3 schemas carry
 * `_def` and a `safeParse` method and no `_zod`. Plain JSON Schema objects are neither.
 */
export function zodFlavor(value: unknown): ZodFlavor | null {
  if (typeof value !== 'object' || value === null) return null
  if ('_zod' in value && typeof (value as { _zod: unknown })._zod === 'object') return 'v4'
  if ('_def' in value && typeof (value as { safeParse?: unknown }).safeParse === 'function') return 'v3'
  return null
}

/** Direction a schema describes: request-like slots are `input`, responses `output` (zod v4 `io`). */
export type SchemaIo = 'input' | 'output'

type ToJsonSchema = (schema: unknown, options?: Record<string, unknown>) => unknown
type ZodToJsonSchema = (schema: unknown, options?: Record<string, unknown>) => unknown

/** `toJSONSchema` per directory of step file, so each file uses the zod its own imports resolve to. */
const toJsonSchemaByDir = new Map<string, ToJsonSchema>()
let zodToJsonSchemaFn: ZodToJsonSchema | null = null

function tryToJsonSchema(load: () => unknown): ToJsonSchema | null {
  try {
    const mod = load() as { toJSONSchema?: unknown; z?: { toJSONSchema?: unknown } } | null
    const fn = mod?.toJSONSchema ?? mod?.z?.toJSONSchema
    return typeof fn === 'function' ? (fn as ToJsonSchema) : null
  } catch {
    return null
  }
}

/**
 * The zod v4 `toJSONSchema` for schemas built in `fromFile`: that file's own `zod` (or `zod/v4`
 * for zod 3.25, which ships v4 beside v3), else the runner's zod 4. Using the instance that built
 * the schema keeps its registry (`.describe()`, `.meta()`).
 */
function toJsonSchemaFor(fromFile: string): ToJsonSchema {
  const dir = dirname(fromFile)
  const cached = toJsonSchemaByDir.get(dir)
  if (cached) return cached
  const projectRequire = createRequire(fromFile)
  const fn =
    tryToJsonSchema(() => projectRequire('zod')) ??
    tryToJsonSchema(() => projectRequire('zod/v4')) ??
    tryToJsonSchema(() => require('zod'))
  if (fn === null) throw new Error('no zod v4 with toJSONSchema could be loaded')
  toJsonSchemaByDir.set(dir, fn)
  return fn
}

/** zod-to-json-schema (its `zod` import is served a shim, so it works with any zod v3 instance). */
function zodToJsonSchema(): ZodToJsonSchema {
  if (zodToJsonSchemaFn === null) {
    const mod = require('zod-to-json-schema') as { zodToJsonSchema: ZodToJsonSchema }
    zodToJsonSchemaFn = mod.zodToJsonSchema
  }
  return zodToJsonSchemaFn
}

/** Convert a zod schema (v3 or v4) defined in `fromFile` to JSON Schema (draft-07 flavour). */
export function zodToJson(schema: unknown, flavor: ZodFlavor, fromFile: string, io: SchemaIo): JsonSchemaObject {
  if (flavor === 'v3') {
    return zodToJsonSchema()(schema, { target: 'jsonSchema7', effectStrategy: io === 'input' ? 'input' : 'any' }) as JsonSchemaObject
  }
  const convert = toJsonSchemaFor(fromFile)
  try {
    return convert(schema, { target: 'draft-7', unrepresentable: 'any', io }) as JsonSchemaObject
  } catch (error) {
    // Older zod 4 builds do not know every option; retry with the defaults before giving up.
    try {
      return convert(schema) as JsonSchemaObject
    } catch {
      throw error
    }
  }
}
