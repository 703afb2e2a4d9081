// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Long } from '@grpc/proto-loader';

// Original file: ../../proto/motia/runner/v1/runner.proto

export const _motia_runner_v1_Log_Level = {
  LEVEL_UNSPECIFIED: 'LEVEL_UNSPECIFIED',
  LEVEL_DEBUG: 'LEVEL_DEBUG',
  LEVEL_INFO: 'LEVEL_INFO',
  LEVEL_WARN: 'LEVEL_WARN',
  LEVEL_ERROR: 'LEVEL_ERROR',
} as const;

export type _motia_runner_v1_Log_Level =
  | 'LEVEL_UNSPECIFIED'
  | 0
  | 'LEVEL_DEBUG'
  | 1
  | 'LEVEL_INFO'
  | 2
  | 'LEVEL_WARN'
  | 3
  | 'LEVEL_ERROR'
  | 4

export type _motia_runner_v1_Log_Level__Output = typeof _motia_runner_v1_Log_Level[keyof typeof _motia_runner_v1_Log_Level]

export interface Log {
  'level'?: (_motia_runner_v1_Log_Level);
  'message'?: (string);
  /**
   * JSON object of extra fields; empty = none
   */
  'fieldsJson'?: (Buffer | Uint8Array | string);
  'timeUnixMs'?: (number | string | Long);
}

export interface Log__Output {
  'level': (_motia_runner_v1_Log_Level__Output);
  'message': (string);
  /**
   * JSON object of extra fields; empty = none
   */
  'fieldsJson': (Buffer);
  'timeUnixMs': (number);
}
