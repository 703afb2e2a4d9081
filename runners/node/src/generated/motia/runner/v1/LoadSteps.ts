// Original file: ../../proto/motia/runner/v1/runner.proto

import type { StepFile as _motia_runner_v1_StepFile, StepFile__Output as _motia_runner_v1_StepFile__Output } from '../../../motia/runner/v1/StepFile';
import type { Long } from '@grpc/proto-loader';

/**
 * The core names the files; the runner imports them and answers with their configs.
 */
export interface LoadSteps {
  'requestId'?: (number | string | Long);
  'files'?: (_motia_runner_v1_StepFile)[];
}

/**
 * The core names the files; the runner imports them and answers with their configs.
 */
export interface LoadSteps__Output {
  'requestId': (number);
  'files': (_motia_runner_v1_StepFile__Output)[];
}
