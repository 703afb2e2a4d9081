// Original file: ../../proto/motia/runner/v1/runner.proto

import type { CallError as _motia_runner_v1_CallError, CallError__Output as _motia_runner_v1_CallError__Output } from '../../../motia/runner/v1/CallError';
import type { Long } from '@grpc/proto-loader';

/**
 * Reply to a Call. value_json per op:
 * emit: null | state_get: value or null | state_set: the value | state_delete: old value or null
 * state_get_group: array of values | state_clear: null | log: null
 * stream_get: the item or null | stream_set: the stored item | stream_delete: the removed item or null
 * stream_get_group: array of items, oldest first | stream_send: null
 */
export interface CallReply {
  'requestId'?: (number | string | Long);
  'valueJson'?: (Buffer | Uint8Array | string);
  'error'?: (_motia_runner_v1_CallError | null);
  'outcome'?: "valueJson"|"error";
}

/**
 * Reply to a Call. value_json per op:
 * emit: null | state_get: value or null | state_set: the value | state_delete: old value or null
 * state_get_group: array of values | state_clear: null | log: null
 * stream_get: the item or null | stream_set: the stored item | stream_delete: the removed item or null
 * stream_get_group: array of items, oldest first | stream_send: null
 */
export interface CallReply__Output {
  'requestId': (number);
  'valueJson'?: (Buffer);
  'error'?: (_motia_runner_v1_CallError__Output | null);
  'outcome'?: "valueJson"|"error";
}
