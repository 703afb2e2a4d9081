import { Cancellation } from '../runtime/cancellation'
import { createFlowContext } from '../runtime/context'
import type { ApiRequest } from '../types/api'
import type { FlowContext } from '../types/context'
import {
  type CapturedLog,
  type EmittedEvent,
  MemoryState,
  MemoryStreams,
  memoryHost,
  type Recorder,
  roundTrip,
} from './memory'

/**
 * `createTester(step)`: run one step file's handler in-process with a real handler context (the one the
 * runner builds: same emit, state, streams and logger code) over in-memory state and streams.
 */

type AnyFunction = (...args: never[]) => unknown
type StepFunction = (...args: unknown[]) => Promise<unknown> | unknown

/** What a step file exports; pass the module itself (`import * as step from '../steps/x.step'`). */
export interface TestableStep {
  config?: unknown
  handler?: AnyFunction
}

export interface TesterOptions {
  /** The context's `traceId` (default: a fresh Motia-style id). */
  traceId?: string
  /** The context's `flows` (default: the config's). */
  flows?: string[]
  /** Seed state: `{ groupId: { key: value } }`. */
  state?: Record<string, Record<string, unknown>>
}

/** A request for an API step; everything optional. Header names are lower-cased, as the core does. */
export interface TestRequest<TBody = unknown> {
  body?: TBody
  headers?: Record<string, string | string[]>
  pathParams?: Record<string, string>
  queryParams?: Record<string, string | string[]>
  /** Default: the body as JSON text ('' without a body). */
  rawBody?: string
}

/** What an API handler answered, after the JSON round trip the runner makes. */
export interface TestResponse<TBody = unknown> {
  status: number
  headers: Record<string, string>
  body: TBody
}

export interface StepTester {
  /** The step's `config.name` ('' when it has none). */
  readonly name: string
  readonly traceId: string
  readonly state: MemoryState
  readonly streams: MemoryStreams
  /** Every event emitted, in order (dropped ones excluded). */
  readonly emitted: EmittedEvent[]
  /** Every `ctx.logger` line, including the runner's warnings about dropped emits. */
  readonly logs: CapturedLog[]
  /** The `data` of each event emitted on `topic`. */
  emittedOn(topic: string): unknown[]
  /** Run an API step: `config.middleware` in order, then the handler. Rejects with what it throws. */
  api<TBody = unknown>(request?: TestRequest): Promise<TestResponse<TBody>>
  /** Run an event step with `input` (round-tripped through JSON). */
  event(input?: unknown): Promise<void>
  /** Run a cron step. */
  cron(): Promise<void>
  /** A context wired to this tester (for calling helpers directly). */
  context(): FlowContext
  /** Forget emits and logs (state and streams are kept). */
  reset(): void
}

const TRACE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ123456789'

/** A trace id in Motia's format, e.g. `K7QZP-4123456`. */
export function newTraceId(): string {
  let prefix = ''
  for (let i = 0; i < 5; i++) prefix += TRACE_ALPHABET[Math.floor(Math.random() * TRACE_ALPHABET.length)]
  return `${prefix}-${String(Date.now()).slice(6)}`
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

function topics(emits: unknown): string[] {
  if (!Array.isArray(emits)) return []
  return emits.flatMap((e: unknown) => (typeof e === 'string' ? [e] : typeof record(e).topic === 'string' ? [record(e).topic as string] : []))
}

function lowerCased(headers: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
}

function toResponse<TBody>(name: string, result: unknown): TestResponse<TBody> {
  const doc = record(result)
  if (typeof doc.status !== 'number') {
    throw new TypeError(`step '${name}': an API handler must return { status: number, body }, got ${JSON.stringify(result) ?? String(result)}`)
  }
  const body = doc.body instanceof Uint8Array ? doc.body : roundTrip(doc.body)
  const headers = Object.fromEntries(Object.entries(record(doc.headers)).map(([k, v]) => [k, String(v)]))
  return { status: doc.status, headers, body: body as TBody }
}

/**
 * A tester for one step module (`{ config, handler }`):
 *
 * ```ts
 * import * as step from '../steps/create-order.step'
 * const t = createTester(step)
 * const res = await t.api({ body: { sku: 'A1' } })
 * assert.equal(res.status, 201)
 * assert.deepEqual(t.emittedOn('order.created'), [{ sku: 'A1' }])
 * ```
 */
export function createTester(step: TestableStep, options: TesterOptions = {}): StepTester {
  const config = record(step.config)
  const name = typeof config.name === 'string' ? config.name : ''
  if (typeof step.handler !== 'function') {
    throw new TypeError(`createTester: step '${name || '(no config.name)'}' exports no handler function`)
  }
  const handler = step.handler as unknown as StepFunction
  const middleware = (Array.isArray(config.middleware) ? config.middleware : []).filter(
    (m: unknown): m is StepFunction => typeof m === 'function',
  )
  const flows = options.flows ?? (Array.isArray(config.flows) ? config.flows.filter((f): f is string => typeof f === 'string') : [])
  const emits = topics(config.emits)
  const traceId = options.traceId ?? newTraceId()
  const recorder: Recorder = {
    state: new MemoryState(options.state),
    streams: new MemoryStreams(),
    emitted: [],
    logs: [],
    calls: [],
  }
  const host = memoryHost(recorder, name, emits)
  const context = (): FlowContext => createFlowContext({ traceId, flows, emits }, host, new Cancellation())

  const checkKind = (want: string): void => {
    if (typeof config.type === 'string' && config.type !== want) {
      const right = config.type === 'api' || config.type === 'cron' ? config.type : 'event'
      const article = /^[aeiou]/.test(config.type) ? 'an' : 'a'
      throw new TypeError(`createTester: step '${name}' is ${article} ${config.type} step; use .${right}() instead of .${want}()`)
    }
  }

  return {
    name,
    traceId,
    state: recorder.state,
    streams: recorder.streams,
    emitted: recorder.emitted,
    logs: recorder.logs,
    emittedOn: (topic) => recorder.emitted.filter((e) => e.topic === topic).map((e) => e.data),
    async api<TBody>(request: TestRequest = {}): Promise<TestResponse<TBody>> {
      checkKind('api')
      const body = roundTrip(request.body ?? null)
      const req: ApiRequest = {
        body,
        headers: lowerCased(request.headers),
        pathParams: { ...request.pathParams },
        queryParams: { ...request.queryParams },
        rawBody: request.rawBody ?? (body === null ? '' : JSON.stringify(body)),
      }
      const ctx = context()
      const dispatch = async (index: number): Promise<unknown> => {
        const mw = middleware[index]
        if (mw === undefined) return handler(req, ctx)
        return mw(req, ctx, () => dispatch(index + 1))
      }
      return toResponse<TBody>(name, await dispatch(0))
    },
    async event(input?: unknown): Promise<void> {
      checkKind('event')
      await handler(roundTrip(input ?? null), context())
    },
    async cron(): Promise<void> {
      checkKind('cron')
      await handler(context())
    },
    context,
    reset(): void {
      recorder.emitted.length = 0
      recorder.logs.length = 0
      recorder.calls.length = 0
    },
  }
}
