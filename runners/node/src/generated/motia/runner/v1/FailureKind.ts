// Original file: ../../proto/motia/runner/v1/runner.proto

export const FailureKind = {
  FAILURE_KIND_UNSPECIFIED: 'FAILURE_KIND_UNSPECIFIED',
  /**
   * the handler (or its middleware) threw
   */
  FAILURE_KIND_HANDLER_ERROR: 'FAILURE_KIND_HANDLER_ERROR',
  /**
   * step_id not loaded in this runner
   */
  FAILURE_KIND_UNKNOWN_STEP: 'FAILURE_KIND_UNKNOWN_STEP',
  /**
   * payload_json did not parse
   */
  FAILURE_KIND_BAD_PAYLOAD: 'FAILURE_KIND_BAD_PAYLOAD',
  /**
   * the return value could not be encoded as JSON
   */
  FAILURE_KIND_BAD_RESULT: 'FAILURE_KIND_BAD_RESULT',
  /**
   * the runner is draining and took no new work
   */
  FAILURE_KIND_SHUTTING_DOWN: 'FAILURE_KIND_SHUTTING_DOWN',
  /**
   * set by the core: the handler outlived its timeout and was cancelled
   */
  FAILURE_KIND_TIMEOUT: 'FAILURE_KIND_TIMEOUT',
} as const;

export type FailureKind =
  | 'FAILURE_KIND_UNSPECIFIED'
  | 0
  /**
   * the handler (or its middleware) threw
   */
  | 'FAILURE_KIND_HANDLER_ERROR'
  | 1
  /**
   * step_id not loaded in this runner
   */
  | 'FAILURE_KIND_UNKNOWN_STEP'
  | 2
  /**
   * payload_json did not parse
   */
  | 'FAILURE_KIND_BAD_PAYLOAD'
  | 3
  /**
   * the return value could not be encoded as JSON
   */
  | 'FAILURE_KIND_BAD_RESULT'
  | 4
  /**
   * the runner is draining and took no new work
   */
  | 'FAILURE_KIND_SHUTTING_DOWN'
  | 5
  /**
   * set by the core: the handler outlived its timeout and was cancelled
   */
  | 'FAILURE_KIND_TIMEOUT'
  | 6

export type FailureKind__Output = typeof FailureKind[keyof typeof FailureKind]
