import { Logger } from '../logger'
import type { FlowContext } from '../types/context'
import { Cancellation } from './cancellation'
import { emitVia } from './emit'
import type { InvocationHost, InvocationInfo } from './host'
import { RemoteStateManager } from './state'
import { createStreamsProxy } from './streams'

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
  return {
    traceId: info.traceId,
    flows: info.flows,
    logger,
    state: new RemoteStateManager(guarded),
    emit: emitVia(guarded, info.emits ?? []),
    streams: createStreamsProxy(new Map(), guarded),
    // A getter: the AbortSignal is only built if the handler looks at it (see Cancellation).
    get signal(): AbortSignal {
      return cancellation.signal
    },
  }
}
