// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Completed as _motia_runner_v1_Completed, Completed__Output as _motia_runner_v1_Completed__Output } from '../../../motia/runner/v1/Completed';
import type { Failed as _motia_runner_v1_Failed, Failed__Output as _motia_runner_v1_Failed__Output } from '../../../motia/runner/v1/Failed';
import type { Long } from '@grpc/proto-loader';

export interface InvocationResult {
  'invocationId'?: (string);
  /**
   * StartInvocation.fencing_token
   */
  'fencingToken'?: (number | string | Long);
  'completed'?: (_motia_runner_v1_Completed | null);
  'failed'?: (_motia_runner_v1_Failed | null);
  'outcome'?: "completed"|"failed";
}

export interface InvocationResult__Output {
  'invocationId': (string);
  /**
   * StartInvocation.fencing_token
   */
  'fencingToken': (number);
  'completed'?: (_motia_runner_v1_Completed__Output | null);
  'failed'?: (_motia_runner_v1_Failed__Output | null);
  'outcome'?: "completed"|"failed";
}
