import type { LogFields, LogLevel } from '../types/logger'

/**
 * A request a handler context makes to the core. Each maps onto one protocol `Call` op; the runner
 * encodes it, sends it at once, and resolves the promise with the decoded reply.
 */
export type HostCall =
  | { op: 'emit'; topic: string; data: unknown; messageGroupId: string }
  | { op: 'state.get'; groupId: string; key: string }
  | { op: 'state.set'; groupId: string; key: string; value: unknown }
  | { op: 'state.delete'; groupId: string; key: string }
  | { op: 'state.getGroup'; groupId: string }
  | { op: 'state.clear'; groupId: string }
  | { op: 'streams.get'; stream: string; groupId: string; id: string }
  | { op: 'streams.set'; stream: string; groupId: string; id: string; data: unknown }
  | { op: 'streams.delete'; stream: string; groupId: string; id: string }
  | { op: 'streams.getGroup'; stream: string; groupId: string }
  | { op: 'streams.send'; stream: string; groupId: string; id: string; type: string; data: unknown }

/**
 * What the runner provides to one invocation's context: the only way step code talks to the core.
 * Implementations must send eagerly (when the method is called, not when the promise is awaited)
 * and must never throw synchronously: failures reject the returned promise.
 */
export interface InvocationHost {
  /** Send a call that wants a reply; resolves with the reply's JSON value (`null` when empty). */
  call(call: HostCall): Promise<unknown>
  /** Send a log line (no reply, never awaited). */
  log(level: LogLevel, message: string, fields: LogFields | undefined): void
}

/** What the core told the runner about the invocation a context is built for. */
export interface InvocationInfo {
  traceId: string
  flows: string[]
  /**
   * The topics of the step's `emits` (empty: any topic). Only a hint: the core decides what an
   * undeclared topic is; the context uses it to take the caller's file and line only for an emit
   * the core will drop (taking a stack costs ~5 µs, too much for every emit).
   */
  emits?: readonly string[]
}
