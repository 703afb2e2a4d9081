// Original file: ../../proto/motia/runner/v1/runner.proto

import type { StepFileKind as _motia_runner_v1_StepFileKind, StepFileKind__Output as _motia_runner_v1_StepFileKind__Output } from '../../../motia/runner/v1/StepFileKind';

export interface StepFile {
  /**
   * the id the core will use in StartInvocation (stable per file)
   */
  'stepId'?: (string);
  /**
   * absolute path
   */
  'path'?: (string);
  /**
   * posix path relative to the project root
   */
  'relativePath'?: (string);
  /**
   * how to read the file; runners that ignore it see only the default
   */
  'kind'?: (_motia_runner_v1_StepFileKind);
}

export interface StepFile__Output {
  /**
   * the id the core will use in StartInvocation (stable per file)
   */
  'stepId': (string);
  /**
   * absolute path
   */
  'path': (string);
  /**
   * posix path relative to the project root
   */
  'relativePath': (string);
  /**
   * how to read the file; runners that ignore it see only the default
   */
  'kind': (_motia_runner_v1_StepFileKind__Output);
}
