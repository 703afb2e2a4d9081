/**
 * Short names for the generated protocol types (src/generated, from proto/motia/runner/v1/runner.proto).
 * `X` is what we build and send; `X__Output` is what @grpc/proto-loader decodes (defaults filled in,
 * uint64 as number, bytes as Buffer, enums as their string names, oneof name in a virtual field).
 */
export type { CallReply__Output as CallReply } from '../generated/motia/runner/v1/CallReply'
export type { Call } from '../generated/motia/runner/v1/Call'
export type { Cancel__Output as Cancel } from '../generated/motia/runner/v1/Cancel'
export type { Cancelled } from '../generated/motia/runner/v1/Cancelled'
export type { CoreFrame__Output as CoreFrame } from '../generated/motia/runner/v1/CoreFrame'
export type { CoreMessage__Output as CoreMessage } from '../generated/motia/runner/v1/CoreMessage'
export type { Draining } from '../generated/motia/runner/v1/Draining'
export type { Failed } from '../generated/motia/runner/v1/Failed'
export { FailureKind } from '../generated/motia/runner/v1/FailureKind'
export type { Hello } from '../generated/motia/runner/v1/Hello'
export type { InvocationResult } from '../generated/motia/runner/v1/InvocationResult'
export type { LoadError } from '../generated/motia/runner/v1/LoadError'
export type { LoadSteps__Output as LoadSteps } from '../generated/motia/runner/v1/LoadSteps'
export type { Log } from '../generated/motia/runner/v1/Log'
export { _motia_runner_v1_Log_Level as LogLevel } from '../generated/motia/runner/v1/Log'
export type { Refusal__Output as Refusal } from '../generated/motia/runner/v1/Refusal'
export type { RunnerFrame } from '../generated/motia/runner/v1/RunnerFrame'
export type { RunnerMessage } from '../generated/motia/runner/v1/RunnerMessage'
export type { Shutdown__Output as Shutdown } from '../generated/motia/runner/v1/Shutdown'
export type { StartInvocation__Output as StartInvocation } from '../generated/motia/runner/v1/StartInvocation'
export type { StepFile__Output as StepFile } from '../generated/motia/runner/v1/StepFile'
export type { StepManifest } from '../generated/motia/runner/v1/StepManifest'
export type { StepsLoaded } from '../generated/motia/runner/v1/StepsLoaded'
export { Trigger } from '../generated/motia/runner/v1/Trigger'
export type { Trigger__Output } from '../generated/motia/runner/v1/Trigger'
export type { Welcome__Output as Welcome } from '../generated/motia/runner/v1/Welcome'

/** Protocol versions this runner speaks (Hello.protocol_min / protocol_max). */
export const PROTOCOL_MIN = 1
export const PROTOCOL_MAX = 1

/** Largest gRPC message either side may send unless Welcome says otherwise (64 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/** Full gRPC method name of the one stream. */
export const CONNECT_METHOD = '/motia.runner.v1.RunnerService/Connect'
