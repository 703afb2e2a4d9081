import { Logger } from '../logger'
import type { EmitData, FlowContext } from '../types/context'
import { Cancellation } from './cancellation'
import type { InvocationHost, InvocationInfo } from './host'
import { RemoteStateManager } from './state'
import { createStreamsProxy } from './streams'

/** Checks the argument of `ctx.emit` and turns it into a host call. */
function emitVia(host: InvocationHost): (event: EmitData) => Promise<void> {
  return async (event: EmitData): Promise<void> => {
    if (typeof event !== 'object' || event === null || typeof event.topic !== 'string') {
      throw new TypeError('emit() expects an object { topic: string, data, messageGroupId? }')
    }
    const group = event.messageGroupId
    await host.call({
      op: 'emit',
      topic: event.topic,
      data: event.data,
      messageGroupId: typeof group === 'string' ? group : group == null ? '' : String(group),
    })
  }
}

/**
 * `host`, except that once the invocation is cancelled every call rejects with the
 * cancellation's error instead of reaching the core. Log lines still go out: a handler may log
 * while it cleans up, and logging never throws.
 */
function guardedHost(host: InvocationHost, cancellation: Cancellation): InvocationHost {
  return {
    call: (call) => {
      const cancelled = cancellation.reason
      return cancelled === null ? host.call(call) : Promise.reject(cancelled)
    },
    log: (level, message, fields) => host.log(level, message, fields),
  }
}

/**
 * The context handed to a handler: `{ traceId, flows, logger, state, emit, streams, signal }`, as in
 * Motia 0.x plus `signal`. Every method goes through `host`; nothing here knows about the wire
 * protocol. `cancellation` is the invocation's: when the runner cancels it, `ctx.signal` aborts and
 * every later call rejects with a `CancelledError`.
 */
export function createFlowContext(
  info: InvocationInfo,
  host: InvocationHost,
  cancellation: Cancellation = new Cancellation(),
): FlowContext {
  const guarded = guardedHost(host, cancellation)
  const logger = new Logger((level, message, fields) => guarded.log(level, message, fields))
  // `emit` must send before the caller awaits (a non-awaited emit still goes out): the async
  // function runs synchronously up to its first await, which is after host.call() has sent.
  return {
    traceId: info.traceId,
    flows: info.flows,
    logger,
    state: new RemoteStateManager(guarded),
    emit: emitVia(guarded),
    streams: createStreamsProxy(new Map(), guarded),
    // A getter: the AbortSignal is only built if the handler looks at it (see Cancellation).
    get signal(): AbortSignal {
      return cancellation.signal
    },
  }
}
