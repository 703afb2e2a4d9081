import { relative, isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EmitData } from '../types/context'
import type { InvocationHost } from './host'

/**
 * `ctx.emit` with Motia 0.x's lenient edges (docs/compatibility.md, "Lenient edges").
 *
 * Motia drops an emit it cannot deliver and lets the handler finish: a call with positional
 * arguments (`emit('topic', data)`), a non-object argument, an object without a topic, a topic the
 * step does not declare. So does motia-core, but never silently: the runner logs a warning that names
 * the file and line of the emit call, with structured fields the core recognises
 * (`{motia: 'emit_dropped', reason, topic?, file?, line?}`) to count the drop in /metrics and to add
 * an `emit_dropped` event to the step's span. `serve --strict` (MOTIA_STRICT=1 in the runner's
 * environment) turns each of these into an error the handler sees, as before.
 *
 * The shape is only visible here; the undeclared topic is decided by the core, which answers such an
 * Emit with `{"dropped": "undeclared_topic", "message": ...}` instead of `null`.
 */

/** Why an emit was dropped; the `reason` field of the warning and the /metrics label. */
export type DropReason = 'positional' | 'not_object' | 'no_topic' | 'undeclared_topic'

/** Where the handler called `emit`: the first frame outside the SDK, relative to the project. */
interface CallSite {
  file?: string
  line?: number
}

const FRAME = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?$/

/** The caller's stack, taken when an emit is dropped (V8 formats `stack` only when it is read). */
interface StackHolder {
  stack?: string
}

function callSite(holder: StackHolder): CallSite {
  const lines = (holder.stack ?? '').split('\n').slice(1)
  for (const text of lines) {
    const match = FRAME.exec(text.trim())
    if (match === null) continue
    let file = match[1] as string
    if (file.startsWith('node:') || file === '<anonymous>' || file === 'native') continue
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file)
      } catch {
        continue
      }
    }
    if (isAbsolute(file)) {
      const rel = relative(process.env.MOTIA_PROJECT_DIR || process.cwd(), file)
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) file = rel
    }
    return { file, line: Number(match[2]) }
  }
  return {}
}

/** `MOTIA_STRICT` as the core sets it for its runners (`serve --strict`); read on the rare drop path. */
export function strictEmits(): boolean {
  const raw = (process.env.MOTIA_STRICT ?? '').trim().toLowerCase()
  return raw !== '' && raw !== '0' && raw !== 'false' && raw !== 'no'
}

function preview(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return typeof value === 'function' ? 'a function' : String(value)
}

/** The shape problem of an emit's arguments, or null when it is a proper `{ topic, data }` event. */
function shapeProblem(
  event: unknown,
  rest: unknown[],
): { reason: DropReason; topic?: string; what: string } | null {
  if (typeof event === 'string') {
    const args = rest.length > 0 ? `${preview(event)}, …` : preview(event)
    return {
      reason: 'positional',
      topic: event,
      what: `emit(${args}) passes positional arguments; an event is one object: emit({ topic: ${preview(event)}, data })`,
    }
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { reason: 'not_object', what: `emit(${preview(event)}) needs an object { topic: string, data }` }
  }
  const topic = (event as { topic?: unknown }).topic
  if (typeof topic !== 'string' || topic === '') {
    return {
      reason: 'no_topic',
      what: `emit() got an event without a topic (topic is ${topic === undefined ? 'missing' : preview(topic)}); it needs a non-empty string topic`,
    }
  }
  return null
}

function where(site: CallSite): string {
  return site.file === undefined ? '' : ` (${site.file}:${site.line})`
}

function logDrop(host: InvocationHost, reason: DropReason, message: string, topic: string | undefined, site: CallSite): void {
  const fields: Record<string, unknown> = { motia: 'emit_dropped', reason }
  if (topic !== undefined) fields.topic = topic
  if (site.file !== undefined) {
    fields.file = site.file
    fields.line = site.line
  }
  host.log('warn', `${message}${where(site)}`, fields)
}

/** The core's answer to an Emit it did not deliver (an undeclared topic); null for a delivered one. */
function droppedReply(reply: unknown): { reason: DropReason; message: string } | null {
  if (typeof reply !== 'object' || reply === null) return null
  const dropped = (reply as { dropped?: unknown }).dropped
  if (typeof dropped !== 'string') return null
  const message = (reply as { message?: unknown }).message
  return { reason: dropped as DropReason, message: typeof message === 'string' ? message : `emit dropped (${dropped})` }
}

/**
 * Builds `ctx.emit` for one invocation. `declared`: the step's `emits` topics (empty: any), a hint
 * for when to take the caller's stack; the core decides what it drops.
 */
export function emitVia(
  host: InvocationHost,
  declared: readonly string[] = [],
): (event: EmitData, ...rest: unknown[]) => Promise<void> {
  // `emit` sends before its caller awaits (a non-awaited emit still goes out): an async function
  // runs synchronously up to its first await, which is after host.call() has sent.
  const emit = async function emit(event: EmitData, ...rest: unknown[]): Promise<void> {
    const problem = shapeProblem(event, rest)
    const holder: StackHolder = {}
    if (problem !== null || (declared.length > 0 && !declared.includes(event.topic))) {
      Error.captureStackTrace(holder, emit)
    }
    if (problem !== null) {
      const site = callSite(holder)
      if (strictEmits()) throw new TypeError(`${problem.what}${where(site)}; serve --strict refuses it`)
      logDrop(host, problem.reason, `${problem.what}: Motia drops such an emit, so the event was dropped`, problem.topic, site)
      return
    }
    const group = event.messageGroupId
    const reply = await host.call({
      op: 'emit',
      topic: event.topic,
      data: event.data,
      messageGroupId: typeof group === 'string' ? group : group == null ? '' : String(group),
    })
    const dropped = droppedReply(reply)
    if (dropped !== null) logDrop(host, dropped.reason, dropped.message, event.topic, callSite(holder))
  }
  return emit
}
