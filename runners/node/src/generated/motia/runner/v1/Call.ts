// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Emit as _motia_runner_v1_Emit, Emit__Output as _motia_runner_v1_Emit__Output } from '../../../motia/runner/v1/Emit';
import type { StateGet as _motia_runner_v1_StateGet, StateGet__Output as _motia_runner_v1_StateGet__Output } from '../../../motia/runner/v1/StateGet';
import type { StateSet as _motia_runner_v1_StateSet, StateSet__Output as _motia_runner_v1_StateSet__Output } from '../../../motia/runner/v1/StateSet';
import type { StateDelete as _motia_runner_v1_StateDelete, StateDelete__Output as _motia_runner_v1_StateDelete__Output } from '../../../motia/runner/v1/StateDelete';
import type { StateGetGroup as _motia_runner_v1_StateGetGroup, StateGetGroup__Output as _motia_runner_v1_StateGetGroup__Output } from '../../../motia/runner/v1/StateGetGroup';
import type { StateClear as _motia_runner_v1_StateClear, StateClear__Output as _motia_runner_v1_StateClear__Output } from '../../../motia/runner/v1/StateClear';
import type { Log as _motia_runner_v1_Log, Log__Output as _motia_runner_v1_Log__Output } from '../../../motia/runner/v1/Log';
import type { StreamGet as _motia_runner_v1_StreamGet, StreamGet__Output as _motia_runner_v1_StreamGet__Output } from '../../../motia/runner/v1/StreamGet';
import type { StreamSet as _motia_runner_v1_StreamSet, StreamSet__Output as _motia_runner_v1_StreamSet__Output } from '../../../motia/runner/v1/StreamSet';
import type { StreamDelete as _motia_runner_v1_StreamDelete, StreamDelete__Output as _motia_runner_v1_StreamDelete__Output } from '../../../motia/runner/v1/StreamDelete';
import type { StreamGetGroup as _motia_runner_v1_StreamGetGroup, StreamGetGroup__Output as _motia_runner_v1_StreamGetGroup__Output } from '../../../motia/runner/v1/StreamGetGroup';
import type { StreamSend as _motia_runner_v1_StreamSend, StreamSend__Output as _motia_runner_v1_StreamSend__Output } from '../../../motia/runner/v1/StreamSend';
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
  'streamGet'?: (_motia_runner_v1_StreamGet | null);
  'streamSet'?: (_motia_runner_v1_StreamSet | null);
  'streamDelete'?: (_motia_runner_v1_StreamDelete | null);
  'streamGetGroup'?: (_motia_runner_v1_StreamGetGroup | null);
  'streamSend'?: (_motia_runner_v1_StreamSend | null);
  'op'?: "emit"|"stateGet"|"stateSet"|"stateDelete"|"stateGetGroup"|"stateClear"|"log"|"streamGet"|"streamSet"|"streamDelete"|"streamGetGroup"|"streamSend";
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
  'streamGet'?: (_motia_runner_v1_StreamGet__Output | null);
  'streamSet'?: (_motia_runner_v1_StreamSet__Output | null);
  'streamDelete'?: (_motia_runner_v1_StreamDelete__Output | null);
  'streamGetGroup'?: (_motia_runner_v1_StreamGetGroup__Output | null);
  'streamSend'?: (_motia_runner_v1_StreamSend__Output | null);
  'op'?: "emit"|"stateGet"|"stateSet"|"stateDelete"|"stateGetGroup"|"stateClear"|"log"|"streamGet"|"streamSet"|"streamDelete"|"streamGetGroup"|"streamSend";
}
