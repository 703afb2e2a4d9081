// One shared WebSocket to /__motia/live for every panel (wb_contract.md): panels subscribe by message
// type; the socket opens on the first subscriber, reconnects with capped backoff, and tells subscribers
// of "reconnected" so they can refetch what they missed while it was down.
import { useEffect, useRef, useSyncExternalStore } from 'react'

export type LiveMessage = { type: string } & Record<string, unknown>
export type LiveStatus = 'connecting' | 'open' | 'closed'
type Handler = (message: LiveMessage) => void

const RECONNECTED = 'reconnected'
const handlers = new Map<string, Set<Handler>>()
const statusListeners = new Set<() => void>()
let socket: WebSocket | null = null
let status: LiveStatus = 'closed'
let retryMs = 500
let retryTimer: ReturnType<typeof setTimeout> | null = null
let everOpened = false
let filter: Record<string, unknown> | null = null

function setStatus(next: LiveStatus): void {
  status = next
  for (const listener of statusListeners) listener()
}

function dispatch(message: LiveMessage): void {
  for (const handler of handlers.get(message.type) ?? []) {
    try {
      handler(message)
    } catch (err) {
      console.error(`live: a "${message.type}" subscriber failed`, err)
    }
  }
}

function liveUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${window.location.host}/__motia/live`
}

function connect(): void {
  if (socket !== null || handlers.size === 0) return
  setStatus('connecting')
  const ws = new WebSocket(liveUrl())
  socket = ws
  ws.onopen = () => {
    retryMs = 500
    setStatus('open')
    if (filter) ws.send(JSON.stringify({ type: 'filter', logs: filter }))
    if (everOpened) dispatch({ type: RECONNECTED })
    everOpened = true
  }
  ws.onmessage = (event: MessageEvent) => {
    if (typeof event.data !== 'string') return
    let message: unknown
    try {
      message = JSON.parse(event.data)
    } catch {
      console.warn('live: a message that is not JSON was ignored')
      return
    }
    if (message && typeof message === 'object' && typeof (message as { type?: unknown }).type === 'string') {
      dispatch(message as LiveMessage)
    }
  }
  ws.onclose = () => {
    socket = null
    setStatus('closed')
    if (handlers.size === 0 || retryTimer !== null) return
    retryTimer = setTimeout(() => {
      retryTimer = null
      connect()
    }, retryMs)
    retryMs = Math.min(retryMs * 2, 10_000)
  }
}

/** Receive every live message of `type` ("log", "trace", "flows", "queue", "state", or "reconnected").
 *  Returns the unsubscribe function; the socket closes when the last subscriber leaves. */
export function subscribe(type: string, handler: Handler): () => void {
  let set = handlers.get(type)
  if (!set) {
    set = new Set()
    handlers.set(type, set)
  }
  set.add(handler)
  connect()
  return () => {
    const current = handlers.get(type)
    current?.delete(handler)
    if (current && current.size === 0) handlers.delete(type)
    if (handlers.size === 0 && socket) {
      socket.close()
      socket = null
    }
  }
}

/** Narrow the live log tail server-side (level, step, traceId); null clears it. */
export function setLogFilter(next: Record<string, unknown> | null): void {
  filter = next
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'filter', logs: next ?? {} }))
}

/** Subscribe for the component's lifetime; the latest `handler` is always called (no resubscribe per render). */
export function useLive(type: string, handler: Handler): void {
  const ref = useRef(handler)
  ref.current = handler
  useEffect(() => subscribe(type, (message) => ref.current(message)), [type])
}

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (listener) => {
      statusListeners.add(listener)
      return () => statusListeners.delete(listener)
    },
    () => status,
  )
}
