// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The handler of a cancelled invocation has stopped (or was already finished).
 */
export interface Cancelled {
  'invocationId'?: (string);
  'fencingToken'?: (number | string | Long);
}

/**
 * The handler of a cancelled invocation has stopped (or was already finished).
 */
export interface Cancelled__Output {
  'invocationId': (string);
  'fencingToken': (number);
}
