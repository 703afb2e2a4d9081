// Original file: ../../proto/motia/runner/v1/runner.proto

import type { RunnerMessage as _motia_runner_v1_RunnerMessage, RunnerMessage__Output as _motia_runner_v1_RunnerMessage__Output } from '../../../motia/runner/v1/RunnerMessage';

export interface RunnerFrame {
  'messages'?: (_motia_runner_v1_RunnerMessage)[];
}

export interface RunnerFrame__Output {
  'messages': (_motia_runner_v1_RunnerMessage__Output)[];
}
