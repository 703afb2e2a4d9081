/**
 * `motia`: the step-author API, compatible with step files written for Motia 0.x.
 *
 * Inside the motia-core Node runner every `import ... from 'motia'` (and `require('motia')`)
 * resolves to this module, whatever the project has in its node_modules.
 *
 * @packageDocumentation
 */
export type {
  ApiMiddleware,
  ApiRequest,
  ApiResponse,
  ApiRouteHandler,
  ApiRouteMethod,
  QueryParam,
} from './types/api'
export type {
  EmitData,
  Emitter,
  FlowContext,
  FlowContextStateStreams,
  InternalStateManager,
} from './types/context'
export type { LogFields, LogLevel, LogSink } from './types/logger'
export type {
  InferSchema,
  JsonSchema,
  StepSchemaInput,
  ZodInput,
  ZodSchemaLike,
  ZodV3SchemaLike,
  ZodV4SchemaLike,
} from './types/schema'
export type {
  ApiRouteConfig,
  CronConfig,
  CronHandler,
  Emit,
  EventConfig,
  EventHandler,
  Flow,
  HandlerConfig,
  Handlers,
  InfrastructureConfig,
  NoopConfig,
  QueueConfig,
  Step,
  StepConfig,
  StepHandler,
} from './types/steps'
export type {
  BaseStreamItem,
  MotiaStream,
  StateStreamEvent,
  StateStreamEventChannel,
  StreamAuthContext,
  StreamConfig,
} from './types/streams'
export type { Config, RedisConfig, StreamAuthConfig, StreamAuthRequest } from './project-config'

export type { CancelReason } from './errors'

/**
 * Errors a handler throws to steer retries (`RetryAfterError`, `NonRetryableError`), and the error
 * of a cancelled invocation (`CancelledError`, the reason of `ctx.signal`).
 */
export { CancelledError, NonRetryableError, RetryAfterError } from './errors'
export { isApiStep, isCronStep, isEventStep, isNoopStep } from './guards'
export { Logger } from './logger'
export { config, defineConfig, PLUGIN_FLOW_ID } from './project-config'
