import type { HostCall, InvocationHost } from '../runtime/host'
import type { LogFields, LogLevel } from '../types/logger'

/**
 * The in-memory core behind a {@link StepTester}: it answers the calls a handler context makes the way
 * motia-core answers them (values kept as JSON, so what a handler reads back is a fresh copy; stream
 * items stored as `{...data, id}`; an emit on a topic the step does not declare is dropped with a
 * warning, as `serve` does without `--strict`).
 */

/** JSON round trip: what crossing the wire does to a value (`undefined` becomes `null`). */
export function roundTrip<T>(value: T): T {
  if (value === undefined) return null as T
  return JSON.parse(JSON.stringify(value)) as T
}

/** An event a handler emitted. */
export interface EmittedEvent {
  topic: string
  data: unknown
  messageGroupId?: string
}

/** One `ctx.logger` line. */
export interface CapturedLog {
  level: LogLevel
  message: string
  fields: LogFields
}

/** A `send` on a stream: ephemeral, so only recorded. */
export interface SentStreamEvent {
  stream: string
  channel: { groupId: string; id?: string }
  event: { type: string; data: unknown }
}

/** State as the core keeps it: JSON text by group and key. Synchronous methods, for seeding and asserting. */
export class MemoryState {
  private readonly groupsById = new Map<string, Map<string, string>>()

  constructor(seed: Record<string, Record<string, unknown>> = {}) {
    for (const [groupId, items] of Object.entries(seed)) {
      for (const [key, value] of Object.entries(items)) this.set(groupId, key, value)
    }
  }

  get<T = unknown>(groupId: string, key: string): T | null {
    const raw = this.groupsById.get(groupId)?.get(key)
    return raw === undefined ? null : (JSON.parse(raw) as T)
  }

  set<T>(groupId: string, key: string, value: T): T {
    let group = this.groupsById.get(groupId)
    if (group === undefined) {
      group = new Map()
      this.groupsById.set(groupId, group)
    }
    group.set(key, JSON.stringify(value === undefined ? null : value))
    return roundTrip(value)
  }

  delete<T = unknown>(groupId: string, key: string): T | null {
    const old = this.get<T>(groupId, key)
    this.groupsById.get(groupId)?.delete(key)
    return old
  }

  getGroup<T = unknown>(groupId: string): T[] {
    return [...(this.groupsById.get(groupId)?.values() ?? [])].map((raw) => JSON.parse(raw) as T)
  }

  clear(groupId: string): void {
    this.groupsById.delete(groupId)
  }

  /** Everything stored, decoded: `{ groupId: { key: value } }` (empty groups left out). */
  groups(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {}
    for (const [groupId, items] of this.groupsById) {
      if (items.size === 0) continue
      out[groupId] = Object.fromEntries([...items].map(([key, raw]) => [key, JSON.parse(raw) as unknown]))
    }
    return out
  }
}

/** Stream items as the core keeps them (`{...data, id}`, groups in creation order), and sent events. */
export class MemoryStreams {
  private readonly items = new Map<string, Map<string, string>>()
  readonly sent: SentStreamEvent[] = []

  private static key(stream: string, groupId: string): string {
    return JSON.stringify([stream, groupId])
  }

  get<T = Record<string, unknown>>(stream: string, groupId: string, id: string): (T & { id: string }) | null {
    const raw = this.items.get(MemoryStreams.key(stream, groupId))?.get(id)
    return raw === undefined ? null : (JSON.parse(raw) as T & { id: string })
  }

  set<T extends object>(stream: string, groupId: string, id: string, data: T): T & { id: string } {
    const key = MemoryStreams.key(stream, groupId)
    let group = this.items.get(key)
    if (group === undefined) {
      group = new Map()
      this.items.set(key, group)
    }
    const item = { ...data, id }
    group.set(id, JSON.stringify(item))
    return roundTrip(item)
  }

  delete<T = Record<string, unknown>>(stream: string, groupId: string, id: string): (T & { id: string }) | null {
    const old = this.get<T>(stream, groupId, id)
    this.items.get(MemoryStreams.key(stream, groupId))?.delete(id)
    return old
  }

  getGroup<T = Record<string, unknown>>(stream: string, groupId: string): (T & { id: string })[] {
    const group = this.items.get(MemoryStreams.key(stream, groupId))
    return [...(group?.values() ?? [])].map((raw) => JSON.parse(raw) as T & { id: string })
  }
}

/** What one tester records; shared by every invocation it runs. */
export interface Recorder {
  state: MemoryState
  streams: MemoryStreams
  emitted: EmittedEvent[]
  logs: CapturedLog[]
  calls: HostCall[]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * An {@link InvocationHost} over a {@link Recorder}. `declaredEmits`: the step's `emits` topics (empty:
 * any); `stepName` names the step in the drop message, as the core's does.
 */
export function memoryHost(recorder: Recorder, stepName: string, declaredEmits: readonly string[]): InvocationHost {
  const answer = (call: HostCall): unknown => {
    const { state, streams } = recorder
    switch (call.op) {
      case 'emit': {
        if (declaredEmits.length > 0 && !declaredEmits.includes(call.topic)) {
          return {
            dropped: 'undeclared_topic',
            message: `step '${stepName}' emitted '${call.topic}', which is not in its emits [${declaredEmits.join(', ')}]: the event was dropped`,
          }
        }
        const event: EmittedEvent = { topic: call.topic, data: roundTrip(call.data) }
        if (call.messageGroupId !== '') event.messageGroupId = call.messageGroupId
        recorder.emitted.push(event)
        return null
      }
      case 'state.get':
        return state.get(call.groupId, call.key)
      case 'state.set':
        return state.set(call.groupId, call.key, call.value)
      case 'state.delete':
        return state.delete(call.groupId, call.key)
      case 'state.getGroup':
        return state.getGroup(call.groupId)
      case 'state.clear':
        state.clear(call.groupId)
        return null
      case 'streams.get':
        return streams.get(call.stream, call.groupId, call.id)
      case 'streams.set':
        if (!isObject(call.data)) throw new TypeError(`streams.${call.stream}.set: a stream item must be a JSON object`)
        return streams.set(call.stream, call.groupId, call.id, roundTrip(call.data))
      case 'streams.delete':
        return streams.delete(call.stream, call.groupId, call.id)
      case 'streams.getGroup':
        return streams.getGroup(call.stream, call.groupId)
      case 'streams.send': {
        const channel: SentStreamEvent['channel'] = { groupId: call.groupId }
        if (call.id !== '') channel.id = call.id
        streams.sent.push({ stream: call.stream, channel, event: { type: call.type, data: roundTrip(call.data) } })
        return null
      }
    }
  }
  return {
    call(call: HostCall): Promise<unknown> {
      recorder.calls.push(call)
      try {
        // Asynchronous like the wire: a handler that forgets `await` sees the same ordering it would see in the runner.
        const reply = answer(call)
        return new Promise((resolve) => setImmediate(() => resolve(reply)))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    log(level: LogLevel, message: string, fields: LogFields | undefined): void {
      recorder.logs.push({ level, message, fields: roundTrip(fields ?? {}) })
    },
  }
}
