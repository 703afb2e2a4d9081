// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Welcome as _motia_runner_v1_Welcome, Welcome__Output as _motia_runner_v1_Welcome__Output } from '../../../motia/runner/v1/Welcome';
import type { Refusal as _motia_runner_v1_Refusal, Refusal__Output as _motia_runner_v1_Refusal__Output } from '../../../motia/runner/v1/Refusal';
import type { LoadSteps as _motia_runner_v1_LoadSteps, LoadSteps__Output as _motia_runner_v1_LoadSteps__Output } from '../../../motia/runner/v1/LoadSteps';
import type { StartInvocation as _motia_runner_v1_StartInvocation, StartInvocation__Output as _motia_runner_v1_StartInvocation__Output } from '../../../motia/runner/v1/StartInvocation';
import type { CallReply as _motia_runner_v1_CallReply, CallReply__Output as _motia_runner_v1_CallReply__Output } from '../../../motia/runner/v1/CallReply';
import type { Ping as _motia_runner_v1_Ping, Ping__Output as _motia_runner_v1_Ping__Output } from '../../../motia/runner/v1/Ping';
import type { Pong as _motia_runner_v1_Pong, Pong__Output as _motia_runner_v1_Pong__Output } from '../../../motia/runner/v1/Pong';
import type { Shutdown as _motia_runner_v1_Shutdown, Shutdown__Output as _motia_runner_v1_Shutdown__Output } from '../../../motia/runner/v1/Shutdown';
import type { Cancel as _motia_runner_v1_Cancel, Cancel__Output as _motia_runner_v1_Cancel__Output } from '../../../motia/runner/v1/Cancel';

/**
 * Core -> runner.
 */
export interface CoreMessage {
  'welcome'?: (_motia_runner_v1_Welcome | null);
  'refusal'?: (_motia_runner_v1_Refusal | null);
  'loadSteps'?: (_motia_runner_v1_LoadSteps | null);
  'start'?: (_motia_runner_v1_StartInvocation | null);
  'callReply'?: (_motia_runner_v1_CallReply | null);
  'ping'?: (_motia_runner_v1_Ping | null);
  'pong'?: (_motia_runner_v1_Pong | null);
  'shutdown'?: (_motia_runner_v1_Shutdown | null);
  'cancel'?: (_motia_runner_v1_Cancel | null);
  'kind'?: "welcome"|"refusal"|"loadSteps"|"start"|"callReply"|"ping"|"pong"|"shutdown"|"cancel";
}

/**
 * Core -> runner.
 */
export interface CoreMessage__Output {
  'welcome'?: (_motia_runner_v1_Welcome__Output | null);
  'refusal'?: (_motia_runner_v1_Refusal__Output | null);
  'loadSteps'?: (_motia_runner_v1_LoadSteps__Output | null);
  'start'?: (_motia_runner_v1_StartInvocation__Output | null);
  'callReply'?: (_motia_runner_v1_CallReply__Output | null);
  'ping'?: (_motia_runner_v1_Ping__Output | null);
  'pong'?: (_motia_runner_v1_Pong__Output | null);
  'shutdown'?: (_motia_runner_v1_Shutdown__Output | null);
  'cancel'?: (_motia_runner_v1_Cancel__Output | null);
  'kind'?: "welcome"|"refusal"|"loadSteps"|"start"|"callReply"|"ping"|"pong"|"shutdown"|"cancel";
}
