// Original file: ../../proto/motia/runner/v1/runner.proto


// Original file: ../../proto/motia/runner/v1/runner.proto

export const _motia_runner_v1_Cancel_Reason = {
  REASON_UNSPECIFIED: 'REASON_UNSPECIFIED',
  /**
   * the step's handler timeout elapsed
   */
  REASON_TIMEOUT: 'REASON_TIMEOUT',
  /**
   * the core is stopping and the grace period ran out
   */
  REASON_SHUTDOWN: 'REASON_SHUTDOWN',
  /**
   * the HTTP client that made the API call disconnected
   */
  REASON_CLIENT_GONE: 'REASON_CLIENT_GONE',
} as const;

export type _motia_runner_v1_Cancel_Reason =
  | 'REASON_UNSPECIFIED'
  | 0
  /**
   * the step's handler timeout elapsed
   */
  | 'REASON_TIMEOUT'
  | 1
  /**
   * the core is stopping and the grace period ran out
   */
  | 'REASON_SHUTDOWN'
  | 2
  /**
   * the HTTP client that made the API call disconnected
   */
  | 'REASON_CLIENT_GONE'
  | 3

export type _motia_runner_v1_Cancel_Reason__Output = typeof _motia_runner_v1_Cancel_Reason[keyof typeof _motia_runner_v1_Cancel_Reason]

/**
 * Cancel one invocation (e.g. its handler timed out). The core has already given up on it: any
 * InvocationResult that still comes is dropped. The runner stops the handler (task cancel,
 * AbortSignal, thread flag) and confirms with Cancelled; a runner that does not confirm within
 * grace_ms is killed and respawned, since a handler it cannot stop would hold a slot forever.
 */
export interface Cancel {
  'invocationId'?: (string);
  'reason'?: (_motia_runner_v1_Cancel_Reason);
  'graceMs'?: (number);
}

/**
 * Cancel one invocation (e.g. its handler timed out). The core has already given up on it: any
 * InvocationResult that still comes is dropped. The runner stops the handler (task cancel,
 * AbortSignal, thread flag) and confirms with Cancelled; a runner that does not confirm within
 * grace_ms is killed and respawned, since a handler it cannot stop would hold a slot forever.
 */
export interface Cancel__Output {
  'invocationId': (string);
  'reason': (_motia_runner_v1_Cancel_Reason__Output);
  'graceMs': (number);
}
