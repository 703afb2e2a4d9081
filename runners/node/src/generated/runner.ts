import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Call as _motia_runner_v1_Call, Call__Output as _motia_runner_v1_Call__Output } from './motia/runner/v1/Call';
import type { CallError as _motia_runner_v1_CallError, CallError__Output as _motia_runner_v1_CallError__Output } from './motia/runner/v1/CallError';
import type { CallReply as _motia_runner_v1_CallReply, CallReply__Output as _motia_runner_v1_CallReply__Output } from './motia/runner/v1/CallReply';
import type { Cancel as _motia_runner_v1_Cancel, Cancel__Output as _motia_runner_v1_Cancel__Output } from './motia/runner/v1/Cancel';
import type { Cancelled as _motia_runner_v1_Cancelled, Cancelled__Output as _motia_runner_v1_Cancelled__Output } from './motia/runner/v1/Cancelled';
import type { Completed as _motia_runner_v1_Completed, Completed__Output as _motia_runner_v1_Completed__Output } from './motia/runner/v1/Completed';
import type { CoreFrame as _motia_runner_v1_CoreFrame, CoreFrame__Output as _motia_runner_v1_CoreFrame__Output } from './motia/runner/v1/CoreFrame';
import type { CoreMessage as _motia_runner_v1_CoreMessage, CoreMessage__Output as _motia_runner_v1_CoreMessage__Output } from './motia/runner/v1/CoreMessage';
import type { Draining as _motia_runner_v1_Draining, Draining__Output as _motia_runner_v1_Draining__Output } from './motia/runner/v1/Draining';
import type { Emit as _motia_runner_v1_Emit, Emit__Output as _motia_runner_v1_Emit__Output } from './motia/runner/v1/Emit';
import type { Failed as _motia_runner_v1_Failed, Failed__Output as _motia_runner_v1_Failed__Output } from './motia/runner/v1/Failed';
import type { Hello as _motia_runner_v1_Hello, Hello__Output as _motia_runner_v1_Hello__Output } from './motia/runner/v1/Hello';
import type { HttpRequestBody as _motia_runner_v1_HttpRequestBody, HttpRequestBody__Output as _motia_runner_v1_HttpRequestBody__Output } from './motia/runner/v1/HttpRequestBody';
import type { HttpResponse as _motia_runner_v1_HttpResponse, HttpResponse__Output as _motia_runner_v1_HttpResponse__Output } from './motia/runner/v1/HttpResponse';
import type { InvocationResult as _motia_runner_v1_InvocationResult, InvocationResult__Output as _motia_runner_v1_InvocationResult__Output } from './motia/runner/v1/InvocationResult';
import type { LoadError as _motia_runner_v1_LoadError, LoadError__Output as _motia_runner_v1_LoadError__Output } from './motia/runner/v1/LoadError';
import type { LoadSteps as _motia_runner_v1_LoadSteps, LoadSteps__Output as _motia_runner_v1_LoadSteps__Output } from './motia/runner/v1/LoadSteps';
import type { Log as _motia_runner_v1_Log, Log__Output as _motia_runner_v1_Log__Output } from './motia/runner/v1/Log';
import type { Ping as _motia_runner_v1_Ping, Ping__Output as _motia_runner_v1_Ping__Output } from './motia/runner/v1/Ping';
import type { Pong as _motia_runner_v1_Pong, Pong__Output as _motia_runner_v1_Pong__Output } from './motia/runner/v1/Pong';
import type { Refusal as _motia_runner_v1_Refusal, Refusal__Output as _motia_runner_v1_Refusal__Output } from './motia/runner/v1/Refusal';
import type { RunnerFrame as _motia_runner_v1_RunnerFrame, RunnerFrame__Output as _motia_runner_v1_RunnerFrame__Output } from './motia/runner/v1/RunnerFrame';
import type { RunnerMessage as _motia_runner_v1_RunnerMessage, RunnerMessage__Output as _motia_runner_v1_RunnerMessage__Output } from './motia/runner/v1/RunnerMessage';
import type { RunnerServiceClient as _motia_runner_v1_RunnerServiceClient, RunnerServiceDefinition as _motia_runner_v1_RunnerServiceDefinition } from './motia/runner/v1/RunnerService';
import type { Shutdown as _motia_runner_v1_Shutdown, Shutdown__Output as _motia_runner_v1_Shutdown__Output } from './motia/runner/v1/Shutdown';
import type { StartInvocation as _motia_runner_v1_StartInvocation, StartInvocation__Output as _motia_runner_v1_StartInvocation__Output } from './motia/runner/v1/StartInvocation';
import type { StateClear as _motia_runner_v1_StateClear, StateClear__Output as _motia_runner_v1_StateClear__Output } from './motia/runner/v1/StateClear';
import type { StateDelete as _motia_runner_v1_StateDelete, StateDelete__Output as _motia_runner_v1_StateDelete__Output } from './motia/runner/v1/StateDelete';
import type { StateGet as _motia_runner_v1_StateGet, StateGet__Output as _motia_runner_v1_StateGet__Output } from './motia/runner/v1/StateGet';
import type { StateGetGroup as _motia_runner_v1_StateGetGroup, StateGetGroup__Output as _motia_runner_v1_StateGetGroup__Output } from './motia/runner/v1/StateGetGroup';
import type { StateSet as _motia_runner_v1_StateSet, StateSet__Output as _motia_runner_v1_StateSet__Output } from './motia/runner/v1/StateSet';
import type { StepFile as _motia_runner_v1_StepFile, StepFile__Output as _motia_runner_v1_StepFile__Output } from './motia/runner/v1/StepFile';
import type { StepManifest as _motia_runner_v1_StepManifest, StepManifest__Output as _motia_runner_v1_StepManifest__Output } from './motia/runner/v1/StepManifest';
import type { StepsLoaded as _motia_runner_v1_StepsLoaded, StepsLoaded__Output as _motia_runner_v1_StepsLoaded__Output } from './motia/runner/v1/StepsLoaded';
import type { StreamDelete as _motia_runner_v1_StreamDelete, StreamDelete__Output as _motia_runner_v1_StreamDelete__Output } from './motia/runner/v1/StreamDelete';
import type { StreamGet as _motia_runner_v1_StreamGet, StreamGet__Output as _motia_runner_v1_StreamGet__Output } from './motia/runner/v1/StreamGet';
import type { StreamGetGroup as _motia_runner_v1_StreamGetGroup, StreamGetGroup__Output as _motia_runner_v1_StreamGetGroup__Output } from './motia/runner/v1/StreamGetGroup';
import type { StreamSend as _motia_runner_v1_StreamSend, StreamSend__Output as _motia_runner_v1_StreamSend__Output } from './motia/runner/v1/StreamSend';
import type { StreamSet as _motia_runner_v1_StreamSet, StreamSet__Output as _motia_runner_v1_StreamSet__Output } from './motia/runner/v1/StreamSet';
import type { Welcome as _motia_runner_v1_Welcome, Welcome__Output as _motia_runner_v1_Welcome__Output } from './motia/runner/v1/Welcome';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  motia: {
    runner: {
      v1: {
        Call: MessageTypeDefinition<_motia_runner_v1_Call, _motia_runner_v1_Call__Output>
        CallError: MessageTypeDefinition<_motia_runner_v1_CallError, _motia_runner_v1_CallError__Output>
        CallReply: MessageTypeDefinition<_motia_runner_v1_CallReply, _motia_runner_v1_CallReply__Output>
        Cancel: MessageTypeDefinition<_motia_runner_v1_Cancel, _motia_runner_v1_Cancel__Output>
        Cancelled: MessageTypeDefinition<_motia_runner_v1_Cancelled, _motia_runner_v1_Cancelled__Output>
        Completed: MessageTypeDefinition<_motia_runner_v1_Completed, _motia_runner_v1_Completed__Output>
        CoreFrame: MessageTypeDefinition<_motia_runner_v1_CoreFrame, _motia_runner_v1_CoreFrame__Output>
        CoreMessage: MessageTypeDefinition<_motia_runner_v1_CoreMessage, _motia_runner_v1_CoreMessage__Output>
        Draining: MessageTypeDefinition<_motia_runner_v1_Draining, _motia_runner_v1_Draining__Output>
        Emit: MessageTypeDefinition<_motia_runner_v1_Emit, _motia_runner_v1_Emit__Output>
        Failed: MessageTypeDefinition<_motia_runner_v1_Failed, _motia_runner_v1_Failed__Output>
        FailureKind: EnumTypeDefinition
        Hello: MessageTypeDefinition<_motia_runner_v1_Hello, _motia_runner_v1_Hello__Output>
        HttpRequestBody: MessageTypeDefinition<_motia_runner_v1_HttpRequestBody, _motia_runner_v1_HttpRequestBody__Output>
        HttpResponse: MessageTypeDefinition<_motia_runner_v1_HttpResponse, _motia_runner_v1_HttpResponse__Output>
        InvocationResult: MessageTypeDefinition<_motia_runner_v1_InvocationResult, _motia_runner_v1_InvocationResult__Output>
        LoadError: MessageTypeDefinition<_motia_runner_v1_LoadError, _motia_runner_v1_LoadError__Output>
        LoadSteps: MessageTypeDefinition<_motia_runner_v1_LoadSteps, _motia_runner_v1_LoadSteps__Output>
        Log: MessageTypeDefinition<_motia_runner_v1_Log, _motia_runner_v1_Log__Output>
        Ping: MessageTypeDefinition<_motia_runner_v1_Ping, _motia_runner_v1_Ping__Output>
        Pong: MessageTypeDefinition<_motia_runner_v1_Pong, _motia_runner_v1_Pong__Output>
        Refusal: MessageTypeDefinition<_motia_runner_v1_Refusal, _motia_runner_v1_Refusal__Output>
        RunnerFrame: MessageTypeDefinition<_motia_runner_v1_RunnerFrame, _motia_runner_v1_RunnerFrame__Output>
        RunnerMessage: MessageTypeDefinition<_motia_runner_v1_RunnerMessage, _motia_runner_v1_RunnerMessage__Output>
        RunnerService: SubtypeConstructor<typeof grpc.Client, _motia_runner_v1_RunnerServiceClient> & { service: _motia_runner_v1_RunnerServiceDefinition }
        Shutdown: MessageTypeDefinition<_motia_runner_v1_Shutdown, _motia_runner_v1_Shutdown__Output>
        StartInvocation: MessageTypeDefinition<_motia_runner_v1_StartInvocation, _motia_runner_v1_StartInvocation__Output>
        StateClear: MessageTypeDefinition<_motia_runner_v1_StateClear, _motia_runner_v1_StateClear__Output>
        StateDelete: MessageTypeDefinition<_motia_runner_v1_StateDelete, _motia_runner_v1_StateDelete__Output>
        StateGet: MessageTypeDefinition<_motia_runner_v1_StateGet, _motia_runner_v1_StateGet__Output>
        StateGetGroup: MessageTypeDefinition<_motia_runner_v1_StateGetGroup, _motia_runner_v1_StateGetGroup__Output>
        StateSet: MessageTypeDefinition<_motia_runner_v1_StateSet, _motia_runner_v1_StateSet__Output>
        StepFile: MessageTypeDefinition<_motia_runner_v1_StepFile, _motia_runner_v1_StepFile__Output>
        StepFileKind: EnumTypeDefinition
        StepManifest: MessageTypeDefinition<_motia_runner_v1_StepManifest, _motia_runner_v1_StepManifest__Output>
        StepsLoaded: MessageTypeDefinition<_motia_runner_v1_StepsLoaded, _motia_runner_v1_StepsLoaded__Output>
        StreamDelete: MessageTypeDefinition<_motia_runner_v1_StreamDelete, _motia_runner_v1_StreamDelete__Output>
        StreamGet: MessageTypeDefinition<_motia_runner_v1_StreamGet, _motia_runner_v1_StreamGet__Output>
        StreamGetGroup: MessageTypeDefinition<_motia_runner_v1_StreamGetGroup, _motia_runner_v1_StreamGetGroup__Output>
        StreamSend: MessageTypeDefinition<_motia_runner_v1_StreamSend, _motia_runner_v1_StreamSend__Output>
        StreamSet: MessageTypeDefinition<_motia_runner_v1_StreamSet, _motia_runner_v1_StreamSet__Output>
        Trigger: EnumTypeDefinition
        Welcome: MessageTypeDefinition<_motia_runner_v1_Welcome, _motia_runner_v1_Welcome__Output>
      }
    }
  }
}

