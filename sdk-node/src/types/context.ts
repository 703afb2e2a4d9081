import type { Logger } from '../logger'
import type { MotiaStream } from './streams'

/**
 * Step state (`ctx.state`): JSON values partitioned by a caller-chosen group id (often the trace id).
 * Values are shared with steps in every language.
 */
export interface InternalStateManager {
  /** The value stored under `groupId`/`key`, or `null` when there is none. */
  get<T>(groupId: string, key: string): Promise<T | null>
  /** Store `value`; resolves to the stored value. */
  set<T>(groupId: string, key: string, value: T): Promise<T>
  /** Remove a key; resolves to the removed value, or `null` when there was none. */
  delete<T>(groupId: string, key: string): Promise<T | null>
  /** Every value of a group (values only, no keys). */
  getGroup<T>(groupId: string): Promise<T[]>
  /** Remove every key of a group. */
  clear(groupId: string): Promise<void>
}

/** An event a step emits: `topic` plus JSON `data`; `messageGroupId` orders FIFO queues. */
export interface EmitData {
  topic: string
  data?: unknown
  messageGroupId?: string
}

/** `ctx.emit`: enqueue an event; resolves once the core accepted it (not when it was handled). */
export type Emitter<TData> = (event: TData) => Promise<void>

/**
 * The streams a project declares, as `ctx.streams.<name>`. Any name type-checks as a stream of
 * loosely typed items; projects narrow it by augmentation (Motia's generated `types.d.ts` does
 * `declare module 'motia' { interface FlowContextStateStreams { todo: MotiaStream<Todo> } }`).
 */
export interface FlowContextStateStreams {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- items are whatever the project stores
  [streamName: string]: MotiaStream<any>
}

/** The second argument of every handler (the only one for cron handlers). */
export interface FlowContext<TEmitData = EmitData> {
  emit: Emitter<TEmitData>
  /** The trace this invocation belongs to; emitted events carry it on. */
  traceId: string
  /** The flows of the running step. */
  flows?: string[]
  state: InternalStateManager
  logger: Logger
  streams: FlowContextStateStreams
  /**
   * Aborts when the core cancels this invocation: the handler ran longer than the step's timeout,
   * or the core is shutting down and the grace period ran out. `signal.reason` is then a
   * `CancelledError` (`name` `'AbortError'`).
   *
   * A JavaScript promise cannot be stopped from outside, so cancellation is cooperative: pass the
   * signal on (`fetch(url, { signal: ctx.signal })`, `setTimeout` from `node:timers/promises`,
   * database drivers) or check `ctx.signal.aborted` between steps of a long loop. From the moment
   * of the cancellation every `ctx` call (`emit`, `state.*`, `streams.*`) rejects with the
   * `CancelledError`, including calls still waiting for their reply; `ctx.logger` keeps working.
   * Whatever the handler returns or throws afterwards is ignored: the runner has already told the
   * core the invocation is over, and the core decides about retries.
   *
   * ```ts
   * for (const item of items) {
   *   ctx.signal.throwIfAborted()
   *   await processItem(item, { signal: ctx.signal })
   * }
   * ```
   */
  readonly signal: AbortSignal
}
