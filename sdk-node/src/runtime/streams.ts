import type { FlowContextStateStreams } from '../types/context'

/** Property names that generic code (await, console.log, JSON, test matchers) probes on any object. */
const PROBED = new Set(['then', 'toJSON', 'inspect', 'constructor', 'asymmetricMatch', '$$typeof', 'nodeType'])

/** The error `ctx.streams.<name>` throws for a stream the project does not declare. */
export class UndeclaredStreamError extends Error {
  override name = 'UndeclaredStreamError'
  constructor(readonly streamName: string) {
    super(`stream '${streamName}' is not declared in this project`)
  }
}

/**
 * `ctx.streams`: the declared streams by name; any other name throws {@link UndeclaredStreamError}.
 *
 * Streams are not wired up yet: the runner passes no declared streams, so every name throws. When
 * they arrive, pass the clients here (one per `*.stream.ts` config) and nothing else changes.
 */
export function createStreamsProxy(declared: ReadonlyMap<string, unknown> = new Map()): FlowContextStateStreams {
  return new Proxy(Object.create(null) as FlowContextStateStreams, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined
      const stream = declared.get(name)
      if (stream !== undefined) return stream
      if (PROBED.has(name)) return undefined
      throw new UndeclaredStreamError(name)
    },
    has(_target, name) {
      return typeof name === 'string' && declared.has(name)
    },
    ownKeys() {
      return [...declared.keys()]
    },
    getOwnPropertyDescriptor(_target, name) {
      if (typeof name !== 'string' || !declared.has(name)) return undefined
      return { value: declared.get(name), enumerable: true, configurable: true, writable: false }
    },
  })
}
