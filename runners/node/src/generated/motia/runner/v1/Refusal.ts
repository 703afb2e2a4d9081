// Original file: ../../proto/motia/runner/v1/runner.proto


// Original file: ../../proto/motia/runner/v1/runner.proto

export const _motia_runner_v1_Refusal_Code = {
  CODE_UNSPECIFIED: 'CODE_UNSPECIFIED',
  /**
   * no common protocol version
   */
  CODE_VERSION_UNSUPPORTED: 'CODE_VERSION_UNSUPPORTED',
  /**
   * secret missing or wrong
   */
  CODE_BAD_SECRET: 'CODE_BAD_SECRET',
  /**
   * first envelope was not a Hello
   */
  CODE_NOT_HELLO: 'CODE_NOT_HELLO',
  /**
   * a runner with this secret is already connected
   */
  CODE_DUPLICATE: 'CODE_DUPLICATE',
} as const;

export type _motia_runner_v1_Refusal_Code =
  | 'CODE_UNSPECIFIED'
  | 0
  /**
   * no common protocol version
   */
  | 'CODE_VERSION_UNSUPPORTED'
  | 1
  /**
   * secret missing or wrong
   */
  | 'CODE_BAD_SECRET'
  | 2
  /**
   * first envelope was not a Hello
   */
  | 'CODE_NOT_HELLO'
  | 3
  /**
   * a runner with this secret is already connected
   */
  | 'CODE_DUPLICATE'
  | 4

export type _motia_runner_v1_Refusal_Code__Output = typeof _motia_runner_v1_Refusal_Code[keyof typeof _motia_runner_v1_Refusal_Code]

export interface Refusal {
  'code'?: (_motia_runner_v1_Refusal_Code);
  'message'?: (string);
  'coreProtocolMin'?: (number);
  'coreProtocolMax'?: (number);
}

export interface Refusal__Output {
  'code': (_motia_runner_v1_Refusal_Code__Output);
  'message': (string);
  'coreProtocolMin': (number);
  'coreProtocolMax': (number);
}
