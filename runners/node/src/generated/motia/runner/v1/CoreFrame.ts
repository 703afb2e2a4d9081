// Original file: ../../proto/motia/runner/v1/runner.proto

import type { CoreMessage as _motia_runner_v1_CoreMessage, CoreMessage__Output as _motia_runner_v1_CoreMessage__Output } from '../../../motia/runner/v1/CoreMessage';

export interface CoreFrame {
  'messages'?: (_motia_runner_v1_CoreMessage)[];
}

export interface CoreFrame__Output {
  'messages': (_motia_runner_v1_CoreMessage__Output)[];
}
