// Original file: ../../proto/motia/runner/v1/runner.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CoreFrame as _motia_runner_v1_CoreFrame, CoreFrame__Output as _motia_runner_v1_CoreFrame__Output } from '../../../motia/runner/v1/CoreFrame';
import type { RunnerFrame as _motia_runner_v1_RunnerFrame, RunnerFrame__Output as _motia_runner_v1_RunnerFrame__Output } from '../../../motia/runner/v1/RunnerFrame';

export interface RunnerServiceClient extends grpc.Client {
  /**
   * One long-lived stream per runner process. The first runner envelope must be Hello.
   */
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_motia_runner_v1_RunnerFrame, _motia_runner_v1_CoreFrame__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_motia_runner_v1_RunnerFrame, _motia_runner_v1_CoreFrame__Output>;
  /**
   * One long-lived stream per runner process. The first runner envelope must be Hello.
   */
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_motia_runner_v1_RunnerFrame, _motia_runner_v1_CoreFrame__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_motia_runner_v1_RunnerFrame, _motia_runner_v1_CoreFrame__Output>;
  
}

export interface RunnerServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One long-lived stream per runner process. The first runner envelope must be Hello.
   */
  Connect: grpc.handleBidiStreamingCall<_motia_runner_v1_RunnerFrame__Output, _motia_runner_v1_CoreFrame>;
  
}

export interface RunnerServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_motia_runner_v1_RunnerFrame, _motia_runner_v1_CoreFrame, _motia_runner_v1_RunnerFrame__Output, _motia_runner_v1_CoreFrame__Output>
}
