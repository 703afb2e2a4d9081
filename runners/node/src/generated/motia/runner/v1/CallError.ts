// Original file: ../../proto/motia/runner/v1/runner.proto


// Original file: ../../proto/motia/runner/v1/runner.proto

export const _motia_runner_v1_CallError_Code = {
  CODE_UNSPECIFIED: 'CODE_UNSPECIFIED',
  /**
   * e.g. bad JSON, missing topic
   */
  CODE_INVALID_ARGUMENT: 'CODE_INVALID_ARGUMENT',
  /**
   * e.g. emit data failed a subscriber's schema in strict mode
   */
  CODE_REJECTED: 'CODE_REJECTED',
  /**
   * invocation_id is not (or no longer) known
   */
  CODE_UNKNOWN_INVOCATION: 'CODE_UNKNOWN_INVOCATION',
  CODE_INTERNAL: 'CODE_INTERNAL',
  /**
   * backend unavailable
   */
  CODE_UNAVAILABLE: 'CODE_UNAVAILABLE',
} as const;

export type _motia_runner_v1_CallError_Code =
  | 'CODE_UNSPECIFIED'
  | 0
  /**
   * e.g. bad JSON, missing topic
   */
  | 'CODE_INVALID_ARGUMENT'
  | 1
  /**
   * e.g. emit data failed a subscriber's schema in strict mode
   */
  | 'CODE_REJECTED'
  | 2
  /**
   * invocation_id is not (or no longer) known
   */
  | 'CODE_UNKNOWN_INVOCATION'
  | 3
  | 'CODE_INTERNAL'
  | 4
  /**
   * backend unavailable
   */
  | 'CODE_UNAVAILABLE'
  | 5

export type _motia_runner_v1_CallError_Code__Output = typeof _motia_runner_v1_CallError_Code[keyof typeof _motia_runner_v1_CallError_Code]

export interface CallError {
  'code'?: (_motia_runner_v1_CallError_Code);
  'message'?: (string);
}

export interface CallError__Output {
  'code': (_motia_runner_v1_CallError_Code__Output);
  'message': (string);
}
