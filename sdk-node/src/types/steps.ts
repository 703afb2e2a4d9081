import type { ApiMiddleware, ApiResponse, ApiRouteHandler, ApiRouteMethod, QueryParam } from './api'
import type { EmitData, FlowContext } from './context'
import type { InferSchema, StepSchemaInput } from './schema'

/** A topic a step may emit: a name, or an object with a label for the flow diagram. */
export type Emit = string | { topic: string; label?: string; conditional?: boolean }

/** Resources of an event handler (AWS-Lambda-shaped limits, as in Motia 0.x). */
export type HandlerConfig = {
  ram: number
  cpu?: number
  machineType: 'cpu' | 'memory' | 'gpu'
  timeout: number
}

/** Queue behaviour of an event step. */
export type QueueConfig = {
  type: 'fifo' | 'standard'
  messageGroupId?: string | null
  maxRetries: number
  retryStrategy: 'none' | 'exponential' | 'jitter'
  visibilityTimeout: number
  delaySeconds: number
  concurrency?: number
}

/** `config.infrastructure` of an event step. */
export type InfrastructureConfig = {
  handler?: Partial<HandlerConfig>
  queue?: Partial<QueueConfig>
}

/** Keys every step type shares. */
interface BaseStepConfig {
  name: string
  description?: string
  flows?: string[]
  virtualEmits?: Emit[]
  virtualSubscribes?: string[]
  /** Files to include in the step bundle, relative to the step file. */
  includeFiles?: string[]
}

/** A step that runs for every event on one of `subscribes`. */
export interface EventConfig extends BaseStepConfig {
  type: 'event'
  subscribes: string[]
  emits: Emit[]
  input?: StepSchemaInput | null
  infrastructure?: Partial<InfrastructureConfig>
}

/** An HTTP endpoint. */
export interface ApiRouteConfig extends BaseStepConfig {
  type: 'api'
  path: string
  method: ApiRouteMethod
  emits: Emit[]
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any middleware fits any route
  middleware?: ApiMiddleware<any, any, any>[]
  bodySchema?: StepSchemaInput | null
  responseSchema?: Record<number, StepSchemaInput>
  queryParams?: QueryParam[]
  infrastructure?: Partial<InfrastructureConfig>
}

/** A step run on a cron schedule (5 fields, optional 6th for seconds). */
export interface CronConfig extends BaseStepConfig {
  type: 'cron'
  cron: string
  emits: Emit[]
  infrastructure?: Partial<InfrastructureConfig>
}

/** A node of the flow diagram that runs nothing. */
export interface NoopConfig extends BaseStepConfig {
  type: 'noop'
  virtualEmits: Emit[]
  virtualSubscribes: string[]
}

/** Any step config. */
export type StepConfig = EventConfig | NoopConfig | ApiRouteConfig | CronConfig

/** The handler of an event step. */
export type EventHandler<TInput = unknown, TEmitData = EmitData> = (
  input: TInput,
  ctx: FlowContext<TEmitData>,
) => Promise<void>

/** The handler of a cron step: it gets only the context. */
export type CronHandler<TEmitData = EmitData> = (ctx: FlowContext<TEmitData>) => Promise<void>

/**
 * The handler type for a config.
 * @deprecated Use `Handlers['<step name>']` (Motia 0.x generates it into `types.d.ts`).
 */
export type StepHandler<T> = T extends EventConfig
  ? EventHandler<InferSchema<T['input']>, EmitData>
  : T extends ApiRouteConfig
    ? ApiRouteHandler<unknown, ApiResponse<number, unknown>, EmitData>
    : T extends CronConfig
      ? CronHandler<EmitData>
      : never

/** A loaded step: its file and config. */
export type Step<TConfig extends StepConfig = StepConfig> = { filePath: string; version: string; config: TConfig }

/** A flow: the steps that name it in `config.flows`. */
export type Flow = {
  name: string
  description?: string
  steps: Step[]
}

/**
 * Handler types by step name. Empty here: Motia's generated `types.d.ts` augments it
 * (`declare module 'motia' { interface Handlers { 'MyStep': ApiRouteHandler<...> } }`), and steps
 * write `export const handler: Handlers['MyStep'] = async (req, ctx) => ...`.
 */
export interface Handlers {}
