import { NodeModule } from './node-internals'

/**
 * Put a ready-made module into the CommonJS cache under `filename` (a path that need not exist):
 * `require()` of anything resolving to that path returns `exports` without touching the disk.
 */
export function registerVirtualModule(filename: string, exports: unknown): void {
  const mod = new NodeModule(filename, null)
  mod.filename = filename
  mod.exports = exports
  mod.loaded = true
  mod.paths = []
  NodeModule._cache[filename] = mod
}

/**
 * The one thing zod-to-json-schema imports from `zod`: the v3 type-kind enum (each kind's value is
 * its own name). Serving it from here lets zod-to-json-schema convert schemas built by any zod v3
 * (the project's), independently of the zod 4 installed next to the runner.
 */
export const ZOD_V3_KIND_SHIM = {
  ZodFirstPartyTypeKind: Object.freeze(
    Object.fromEntries(
      [
        'ZodString', 'ZodNumber', 'ZodNaN', 'ZodBigInt', 'ZodBoolean', 'ZodDate', 'ZodSymbol', 'ZodUndefined',
        'ZodNull', 'ZodAny', 'ZodUnknown', 'ZodNever', 'ZodVoid', 'ZodArray', 'ZodObject', 'ZodUnion',
        'ZodDiscriminatedUnion', 'ZodIntersection', 'ZodTuple', 'ZodRecord', 'ZodMap', 'ZodSet', 'ZodFunction',
        'ZodLazy', 'ZodLiteral', 'ZodEnum', 'ZodEffects', 'ZodNativeEnum', 'ZodOptional', 'ZodNullable',
        'ZodDefault', 'ZodCatch', 'ZodPromise', 'ZodBranded', 'ZodPipeline', 'ZodReadonly',
      ].map((kind) => [kind, kind]),
    ),
  ),
}
