// Original file: ../../proto/motia/runner/v1/runner.proto


/**
 * What one step file declares. The config is sent as JSON, verbatim except that
 * * schema objects (zod, pydantic models) are converted to JSON Schema,
 * * functions are replaced by {"$function": "<name>"} (e.g. middleware entries, canAccess).
 * The core validates the config (names every bad field) and derives name, type, trigger,
 * emits/subscribes, flows and schemas from it: one validator for every language.
 */
export interface StepManifest {
  'stepId'?: (string);
  'configJson'?: (Buffer | Uint8Array | string);
  /**
   * the file exports a callable handler
   */
  'hasHandler'?: (boolean);
  /**
   * entries in config.middleware that are callables
   */
  'middlewareCount'?: (number);
}

/**
 * What one step file declares. The config is sent as JSON, verbatim except that
 * * schema objects (zod, pydantic models) are converted to JSON Schema,
 * * functions are replaced by {"$function": "<name>"} (e.g. middleware entries, canAccess).
 * The core validates the config (names every bad field) and derives name, type, trigger,
 * emits/subscribes, flows and schemas from it: one validator for every language.
 */
export interface StepManifest__Output {
  'stepId': (string);
  'configJson': (Buffer);
  /**
   * the file exports a callable handler
   */
  'hasHandler': (boolean);
  /**
   * entries in config.middleware that are callables
   */
  'middlewareCount': (number);
}
