// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Emit as _motia_runner_v1_Emit, Emit__Output as _motia_runner_v1_Emit__Output } from '../../../motia/runner/v1/Emit';
import type { StateGet as _motia_runner_v1_StateGet, StateGet__Output as _motia_runner_v1_StateGet__Output } from '../../../motia/runner/v1/StateGet';
import type { StateSet as _motia_runner_v1_StateSet, StateSet__Output as _motia_runner_v1_StateSet__Output } from '../../../motia/runner/v1/StateSet';
import type { StateDelete as _motia_runner_v1_StateDelete, StateDelete__Output as _motia_runner_v1_StateDelete__Output } from '../../../motia/runner/v1/StateDelete';
import type { StateGetGroup as _motia_runner_v1_StateGetGroup, StateGetGroup__Output as _motia_runner_v1_StateGetGroup__Output } from '../../../motia/runner/v1/StateGetGroup';
import type { StateClear as _motia_runner_v1_StateClear, StateClear__Output as _motia_runner_v1_StateClear__Output } from '../../../motia/runner/v1/StateClear';
import type { Log as _motia_runner_v1_Log, Log__Output as _motia_runner_v1_Log__Output } from '../../../motia/runner/v1/Log';
import type { Long } from '@grpc/proto-loader';

export interface Call {
  /**
   * unique per runner stream, > 0 when a reply is wanted
   */
  'requestId'?: (number | string | Long);
  /**
   * the invocation that made the call ("" = runner-level)
   */
  'invocationId'?: (string);
  'emit'?: (_motia_runner_v1_Emit | null);
  'stateGet'?: (_motia_runner_v1_StateGet | null);
  'stateSet'?: (_motia_runner_v1_StateSet | null);
  'stateDelete'?: (_motia_runner_v1_StateDelete | null);
  'stateGetGroup'?: (_motia_runner_v1_StateGetGroup | null);
  'stateClear'?: (_motia_runner_v1_StateClear | null);
  'log'?: (_motia_runner_v1_Log | null);
  'op'?: "emit"|"stateGet"|"stateSet"|"stateDelete"|"stateGetGroup"|"stateClear"|"log";
}

export interface Call__Output {
  /**
   * unique per runner stream, > 0 when a reply is wanted
   */
  'requestId': (number);
  /**
   * the invocation that made the call ("" = runner-level)
   */
  'invocationId': (string);
  'emit'?: (_motia_runner_v1_Emit__Output | null);
  'stateGet'?: (_motia_runner_v1_StateGet__Output | null);
  'stateSet'?: (_motia_runner_v1_StateSet__Output | null);
  'stateDelete'?: (_motia_runner_v1_StateDelete__Output | null);
  'stateGetGroup'?: (_motia_runner_v1_StateGetGroup__Output | null);
  'stateClear'?: (_motia_runner_v1_StateClear__Output | null);
  'log'?: (_motia_runner_v1_Log__Output | null);
  'op'?: "emit"|"stateGet"|"stateSet"|"stateDelete"|"stateGetGroup"|"stateClear"|"log";
}
