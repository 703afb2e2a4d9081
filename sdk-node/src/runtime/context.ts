import { Logger } from '../logger'
import type { EmitData, FlowContext } from '../types/context'
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
 * The context handed to a handler: `{ traceId, flows, logger, state, emit, streams }`, as in Motia 0.x.
 * Every method goes through `host`; nothing here knows about the wire protocol.
 */
export function createFlowContext(info: InvocationInfo, host: InvocationHost): FlowContext {
  const logger = new Logger((level, message, fields) => host.log(level, message, fields))
  // `emit` must send before the caller awaits (a non-awaited emit still goes out): the async
  // function runs synchronously up to its first await, which is after host.call() has sent.
  return {
    traceId: info.traceId,
    flows: info.flows,
    logger,
    state: new RemoteStateManager(host),
    emit: emitVia(host),
    streams: createStreamsProxy(new Map(), host),
  }
}
