import type { HostCall, InvocationHost } from '../../../../sdk-node/src/runtime'
import type { LogFields, LogLevel as SdkLogLevel } from '../../../../sdk-node/src/index'
import { decodeJson, encodeJson, encodeLogFields } from '../json'
import type { Call, CallReply, RunnerMessage } from '../protocol/messages'
import { LogLevel } from '../protocol/messages'

/** Where call messages go (the BatchingWriter). */
export interface MessageSink {
  send(message: RunnerMessage): void
  readonly payloadLimit: number
}

/** A Call the core answered with a CallError. `code` is the CallError.Code name. */
export class CoreCallError extends Error {
  override name = 'CoreCallError'
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

interface Pending {
  invocationId: string
  resolve(value: unknown): void
  reject(error: Error): void
}

const LEVELS: Record<SdkLogLevel, (typeof LogLevel)[keyof typeof LogLevel]> = {
  debug: LogLevel.LEVEL_DEBUG,
  info: LogLevel.LEVEL_INFO,
  warn: LogLevel.LEVEL_WARN,
  error: LogLevel.LEVEL_ERROR,
}

/**
 * Calls from handlers to the core (emit, state, streams, log). Each call is sent at once (eagerly, so a
 * non-awaited emit still goes out) with a request id unique on the stream; the matching CallReply
 * settles its promise.
 */
export class CallChannel {
  private nextRequestId = 1
  private readonly pending = new Map<number, Pending>()
  private closedReason: Error | null = null

  constructor(private readonly sink: MessageSink) {}

  /** Calls waiting for a reply. */
  get inFlight(): number {
    return this.pending.size
  }

  /** The host one invocation's context talks through. */
  hostFor(invocationId: string): InvocationHost {
    return {
      call: (call) => this.call(invocationId, call),
      log: (level, message, fields) => this.log(invocationId, level, message, fields),
    }
  }

  /** Settle the call a reply answers. Unknown ids (late replies) are ignored. */
  resolve(reply: CallReply): void {
    const pending = this.pending.get(reply.requestId)
    if (pending === undefined) return
    this.pending.delete(reply.requestId)
    if (reply.outcome === 'error' && reply.error) {
      pending.reject(new CoreCallError(reply.error.code, reply.error.message))
      return
    }
    try {
      pending.resolve(decodeJson(reply.valueJson ?? Buffer.alloc(0), null))
    } catch (error) {
      pending.reject(new Error(`the core sent a reply that is not JSON: ${String(error)}`))
    }
  }

  /**
   * Reject the calls of a cancelled invocation that still wait for their reply; their late replies
   * are then ignored. (New calls of that invocation are refused by its context.)
   */
  abandon(invocationId: string, reason: Error): void {
    for (const [requestId, pending] of this.pending) {
      if (pending.invocationId !== invocationId) continue
      this.pending.delete(requestId)
      pending.reject(reason)
    }
  }

  /** Reject every pending call and refuse new ones (the stream is gone). */
  close(reason: Error): void {
    this.closedReason = reason
    for (const pending of this.pending.values()) pending.reject(reason)
    this.pending.clear()
  }

  private call(invocationId: string, call: HostCall): Promise<unknown> {
    if (this.closedReason !== null) return Promise.reject(this.closedReason)
    let message: Call
    try {
      message = this.encode(invocationId, call)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(message.requestId as number, { invocationId, resolve, reject })
      this.sink.send({ call: message })
    })
  }

  private log(invocationId: string, level: SdkLogLevel, message: string, fields: LogFields | undefined): void {
    if (this.closedReason !== null) return
    this.sink.send({
      call: {
        requestId: 0,
        invocationId,
        log: { level: LEVELS[level], message, fieldsJson: encodeLogFields(fields), timeUnixMs: Date.now() },
      },
    })
  }

  private encode(invocationId: string, call: HostCall): Call {
    const requestId = this.nextRequestId++
    switch (call.op) {
      case 'emit':
        return {
          requestId,
          invocationId,
          emit: {
            topic: call.topic,
            dataJson: this.checked(encodeJson(call.data, `emit('${call.topic}') data`), 'emit data'),
            messageGroupId: call.messageGroupId,
          },
        }
      case 'state.get':
        return { requestId, invocationId, stateGet: { groupId: call.groupId, key: call.key } }
      case 'state.set':
        return {
          requestId,
          invocationId,
          stateSet: {
            groupId: call.groupId,
            key: call.key,
            valueJson: this.checked(
              encodeJson(call.value, `state.set('${call.groupId}', '${call.key}') value`),
              'state value',
            ),
          },
        }
      case 'state.delete':
        return { requestId, invocationId, stateDelete: { groupId: call.groupId, key: call.key } }
      case 'state.getGroup':
        return { requestId, invocationId, stateGetGroup: { groupId: call.groupId } }
      case 'state.clear':
        return { requestId, invocationId, stateClear: { groupId: call.groupId } }
      case 'streams.get':
        return { requestId, invocationId, streamGet: { stream: call.stream, groupId: call.groupId, id: call.id } }
      case 'streams.set':
        return {
          requestId,
          invocationId,
          streamSet: {
            stream: call.stream,
            groupId: call.groupId,
            id: call.id,
            dataJson: this.checked(
              encodeJson(call.data, `streams.${call.stream}.set('${call.groupId}', '${call.id}') data`),
              'stream item',
            ),
          },
        }
      case 'streams.delete':
        return { requestId, invocationId, streamDelete: { stream: call.stream, groupId: call.groupId, id: call.id } }
      case 'streams.getGroup':
        return { requestId, invocationId, streamGetGroup: { stream: call.stream, groupId: call.groupId } }
      case 'streams.send':
        return {
          requestId,
          invocationId,
          streamSend: {
            stream: call.stream,
            groupId: call.groupId,
            id: call.id,
            type: call.type,
            dataJson: this.checked(encodeJson(call.data, `streams.${call.stream}.send() event data`), 'stream event data'),
          },
        }
    }
  }

  private checked(bytes: Buffer, what: string): Buffer {
    if (bytes.length > this.sink.payloadLimit) {
      throw new RangeError(`${what} is ${bytes.length} bytes, over the ${this.sink.payloadLimit}-byte message limit`)
    }
    return bytes
  }
}
