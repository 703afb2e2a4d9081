// Original file: ../../proto/motia/runner/v1/runner.proto

/**
 * What a StepFile is. Additive within version 1: the core sends a kind other than UNSPECIFIED only
 * to the Node runner, and only for the project's motia.config.ts / motia.config.js.
 */
export const StepFileKind = {
  /**
   * A step, stream or stream auth file: exports `config` and (optionally) `handler`.
   */
  STEP_FILE_KIND_UNSPECIFIED: 'STEP_FILE_KIND_UNSPECIFIED',
  /**
   * Motia's motia.config.ts / .js (docs/configuration.md): its default export is the project config.
   * The manifest carries that object as config_json (functions as {"$function"}, zod as JSON
   * Schema, other non-JSON values as {"$object": "<class name>"}); has_handler is true when it has
   * streamAuth.authenticate, which TRIGGER_STREAM_AUTH then calls with the request.
   */
  STEP_FILE_KIND_PROJECT_CONFIG: 'STEP_FILE_KIND_PROJECT_CONFIG',
} as const;

/**
 * What a StepFile is. Additive within version 1: the core sends a kind other than UNSPECIFIED only
 * to the Node runner, and only for the project's motia.config.ts / motia.config.js.
 */
export type StepFileKind =
  /**
   * A step, stream or stream auth file: exports `config` and (optionally) `handler`.
   */
  | 'STEP_FILE_KIND_UNSPECIFIED'
  | 0
  /**
   * Motia's motia.config.ts / .js (docs/configuration.md): its default export is the project config.
   * The manifest carries that object as config_json (functions as {"$function"}, zod as JSON
   * Schema, other non-JSON values as {"$object": "<class name>"}); has_handler is true when it has
   * streamAuth.authenticate, which TRIGGER_STREAM_AUTH then calls with the request.
   */
  | 'STEP_FILE_KIND_PROJECT_CONFIG'
  | 1

/**
 * What a StepFile is. Additive within version 1: the core sends a kind other than UNSPECIFIED only
 * to the Node runner, and only for the project's motia.config.ts / motia.config.js.
 */
export type StepFileKind__Output = typeof StepFileKind[keyof typeof StepFileKind]
