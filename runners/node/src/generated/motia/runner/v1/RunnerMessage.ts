// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Hello as _motia_runner_v1_Hello, Hello__Output as _motia_runner_v1_Hello__Output } from '../../../motia/runner/v1/Hello';
import type { StepsLoaded as _motia_runner_v1_StepsLoaded, StepsLoaded__Output as _motia_runner_v1_StepsLoaded__Output } from '../../../motia/runner/v1/StepsLoaded';
import type { InvocationResult as _motia_runner_v1_InvocationResult, InvocationResult__Output as _motia_runner_v1_InvocationResult__Output } from '../../../motia/runner/v1/InvocationResult';
import type { Call as _motia_runner_v1_Call, Call__Output as _motia_runner_v1_Call__Output } from '../../../motia/runner/v1/Call';
import type { Ping as _motia_runner_v1_Ping, Ping__Output as _motia_runner_v1_Ping__Output } from '../../../motia/runner/v1/Ping';
import type { Pong as _motia_runner_v1_Pong, Pong__Output as _motia_runner_v1_Pong__Output } from '../../../motia/runner/v1/Pong';
import type { Cancelled as _motia_runner_v1_Cancelled, Cancelled__Output as _motia_runner_v1_Cancelled__Output } from '../../../motia/runner/v1/Cancelled';
import type { Draining as _motia_runner_v1_Draining, Draining__Output as _motia_runner_v1_Draining__Output } from '../../../motia/runner/v1/Draining';

/**
 * Runner -> core.
 */
export interface RunnerMessage {
  'hello'?: (_motia_runner_v1_Hello | null);
  'stepsLoaded'?: (_motia_runner_v1_StepsLoaded | null);
  'result'?: (_motia_runner_v1_InvocationResult | null);
  'call'?: (_motia_runner_v1_Call | null);
  'ping'?: (_motia_runner_v1_Ping | null);
  'pong'?: (_motia_runner_v1_Pong | null);
  /**
   * planned 7: InvocationAck   (receipt ack of a StartInvocation; durable queue)
   */
  'cancelled'?: (_motia_runner_v1_Cancelled | null);
  'draining'?: (_motia_runner_v1_Draining | null);
  'kind'?: "hello"|"stepsLoaded"|"result"|"call"|"ping"|"pong"|"cancelled"|"draining";
}

/**
 * Runner -> core.
 */
export interface RunnerMessage__Output {
  'hello'?: (_motia_runner_v1_Hello__Output | null);
  'stepsLoaded'?: (_motia_runner_v1_StepsLoaded__Output | null);
  'result'?: (_motia_runner_v1_InvocationResult__Output | null);
  'call'?: (_motia_runner_v1_Call__Output | null);
  'ping'?: (_motia_runner_v1_Ping__Output | null);
  'pong'?: (_motia_runner_v1_Pong__Output | null);
  /**
   * planned 7: InvocationAck   (receipt ack of a StartInvocation; durable queue)
   */
  'cancelled'?: (_motia_runner_v1_Cancelled__Output | null);
  'draining'?: (_motia_runner_v1_Draining__Output | null);
  'kind'?: "hello"|"stepsLoaded"|"result"|"call"|"ping"|"pong"|"cancelled"|"draining";
}
