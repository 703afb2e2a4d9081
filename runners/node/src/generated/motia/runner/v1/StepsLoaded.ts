// Original file: ../../proto/motia/runner/v1/runner.proto

import type { StepManifest as _motia_runner_v1_StepManifest, StepManifest__Output as _motia_runner_v1_StepManifest__Output } from '../../../motia/runner/v1/StepManifest';
import type { LoadError as _motia_runner_v1_LoadError, LoadError__Output as _motia_runner_v1_LoadError__Output } from '../../../motia/runner/v1/LoadError';
import type { Long } from '@grpc/proto-loader';

export interface StepsLoaded {
  /**
   * LoadSteps.request_id
   */
  'requestId'?: (number | string | Long);
  /**
   * one per file that imported and exported a config
   */
  'steps'?: (_motia_runner_v1_StepManifest)[];
  /**
   * one per file that failed
   */
  'errors'?: (_motia_runner_v1_LoadError)[];
}

export interface StepsLoaded__Output {
  /**
   * LoadSteps.request_id
   */
  'requestId': (number);
  /**
   * one per file that imported and exported a config
   */
  'steps': (_motia_runner_v1_StepManifest__Output)[];
  /**
   * one per file that failed
   */
  'errors': (_motia_runner_v1_LoadError__Output)[];
}
