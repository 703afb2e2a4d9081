import type { FlowContextStateStreams } from '../types/context'
import type { BaseStreamItem, MotiaStream, StateStreamEvent, StateStreamEventChannel } from '../types/streams'
import type { InvocationHost } from './host'

/** Property names that generic code (await, console.log, JSON, test matchers) probes on any object. */
const PROBED = new Set(['then', 'toJSON', 'inspect', 'constructor', 'asymmetricMatch', '$$typeof', 'nodeType'])

/** The error `ctx.streams.<name>` throws for a stream the project does not declare (explicit maps only). */
export class UndeclaredStreamError extends Error {
  override name = 'UndeclaredStreamError'
  constructor(readonly streamName: string) {
    super(`stream '${streamName}' is not declared in this project`)
  }
}

/**
 * `ctx.streams.<name>` backed by calls to the core. Items are stored as `{...data, id}`; the core
 * pushes every change to the WebSocket clients subscribed to the item or its group.
 */
export class RemoteStream<TData = Record<string, unknown>> implements MotiaStream<TData> {
  constructor(
    private readonly host: InvocationHost,
    readonly streamName: string,
  ) {}

  get(groupId: string, id: string): Promise<(TData & BaseStreamItem) | null> {
    return this.host.call({ op: 'streams.get', stream: this.streamName, groupId: String(groupId), id: String(id) }) as Promise<
      (TData & BaseStreamItem) | null
    >
  }

  set(groupId: string, id: string, data: TData): Promise<TData & BaseStreamItem> {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return Promise.reject(new TypeError(`streams.${this.streamName}.set() takes an object as data`))
    }
    return this.host.call({
      op: 'streams.set',
      stream: this.streamName,
      groupId: String(groupId),
      id: String(id),
      data,
    }) as Promise<TData & BaseStreamItem>
  }

  delete(groupId: string, id: string): Promise<(TData & BaseStreamItem) | null> {
    return this.host.call({ op: 'streams.delete', stream: this.streamName, groupId: String(groupId), id: String(id) }) as Promise<
      (TData & BaseStreamItem) | null
    >
  }

  async getGroup(groupId: string): Promise<(TData & BaseStreamItem)[]> {
    const items = await this.host.call({ op: 'streams.getGroup', stream: this.streamName, groupId: String(groupId) })
    return Array.isArray(items) ? (items as (TData & BaseStreamItem)[]) : []
  }

  async send<T>(channel: StateStreamEventChannel, event: StateStreamEvent<T>): Promise<void> {
    if (typeof channel !== 'object' || channel === null || channel.groupId === undefined || channel.groupId === null) {
      throw new TypeError(`streams.${this.streamName}.send() needs a channel { groupId, id? }`)
    }
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string' || event.type === '') {
      throw new TypeError(`streams.${this.streamName}.send() needs an event { type: string, data }`)
    }
    await this.host.call({
      op: 'streams.send',
      stream: this.streamName,
      groupId: String(channel.groupId),
      id: channel.id === undefined || channel.id === null ? '' : String(channel.id),
      type: event.type,
      data: event.data,
    })
  }
}

/**
 * `ctx.streams`. With a host (the runner), every name is a {@link RemoteStream}: the core answers a
 * call on a stream the project does not declare with an error naming it and the declared ones.
 * Without a host, only the streams in `declared` exist and any other name throws
 * {@link UndeclaredStreamError}.
 */
export function createStreamsProxy(
  declared: ReadonlyMap<string, unknown> = new Map(),
  host?: InvocationHost,
): FlowContextStateStreams {
  const streams = new Map<string, unknown>(declared)
  return new Proxy(Object.create(null) as FlowContextStateStreams, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined
      const stream = streams.get(name)
      if (stream !== undefined) return stream
      if (PROBED.has(name)) return undefined
      if (host === undefined || name === '') throw new UndeclaredStreamError(name)
      const remote = new RemoteStream(host, name)
      streams.set(name, remote)
      return remote
    },
    has(_target, name) {
      return typeof name === 'string' && (streams.has(name) || (host !== undefined && name !== '' && !PROBED.has(name)))
    },
    ownKeys() {
      return [...streams.keys()]
    },
    getOwnPropertyDescriptor(_target, name) {
      if (typeof name !== 'string' || !streams.has(name)) return undefined
      return { value: streams.get(name), enumerable: true, configurable: true, writable: false }
    },
  })
}
