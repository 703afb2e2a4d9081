/**
 * Schema shapes accepted in step configs (`input`, `bodySchema`, `responseSchema`).
 *
 * zod schemas are matched by shape, so this SDK works with whichever zod (v3 or v4) the
 * project installed and does not depend on zod itself. The runner converts zod schemas to JSON
 * Schema before it sends the config to the core.
 */

/** A JSON Schema document: any JSON object. */
export interface JsonSchema {
  [key: string]: unknown
}

/** A zod v3 schema (it carries `_def` and a phantom `_output` type). */
export interface ZodV3SchemaLike<TOutput = unknown> {
  readonly _def: unknown
  readonly _output: TOutput
}

/** A zod v4 schema (classic or mini: everything lives under `_zod`). */
export interface ZodV4SchemaLike<TOutput = unknown> {
  readonly _zod: { readonly output: TOutput }
}

/** Any zod schema, v3 or v4. */
export type ZodSchemaLike = ZodV3SchemaLike | ZodV4SchemaLike

/** Motia 0.x name for the zod schemas a step config may carry. */
export type ZodInput = ZodSchemaLike

/** What a schema slot of a step config accepts: a zod schema or a plain JSON Schema. */
export type StepSchemaInput = ZodSchemaLike | JsonSchema

/** The TypeScript type a zod schema parses to; `unknown` for JSON Schema. */
export type InferSchema<T> = T extends { readonly _zod: { readonly output: infer O } }
  ? O
  : T extends { readonly _output: infer O }
    ? O
    : unknown
