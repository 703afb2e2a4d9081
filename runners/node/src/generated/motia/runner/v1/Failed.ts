// Original file: ../../proto/motia/runner/v1/runner.proto

import type { FailureKind as _motia_runner_v1_FailureKind, FailureKind__Output as _motia_runner_v1_FailureKind__Output } from '../../../motia/runner/v1/FailureKind';
import type { Long } from '@grpc/proto-loader';

export interface Failed {
  /**
   * exception class / error name
   */
  'errorType'?: (string);
  'message'?: (string);
  /**
   * language-native stack trace
   */
  'stack'?: (string);
  /**
   * the handler asked not to be retried
   */
  'nonRetryable'?: (boolean);
  /**
   * the handler asked for this delay before a retry; 0 = default
   */
  'retryAfterMs'?: (number | string | Long);
  'kind'?: (_motia_runner_v1_FailureKind);
}

export interface Failed__Output {
  /**
   * exception class / error name
   */
  'errorType': (string);
  'message': (string);
  /**
   * language-native stack trace
   */
  'stack': (string);
  /**
   * the handler asked not to be retried
   */
  'nonRetryable': (boolean);
  /**
   * the handler asked for this delay before a retry; 0 = default
   */
  'retryAfterMs': (number);
  'kind': (_motia_runner_v1_FailureKind__Output);
}
