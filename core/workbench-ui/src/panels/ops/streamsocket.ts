// A stream group followed live over the streams WebSocket at `/`, speaking Motia's protocol
// (core/motia_core/streams/ws.py, docs/streams.md#the-websocket-protocol): join the group, take the
// `sync` (the whole group), then apply create / update / delete; `event` messages are custom events.
// The socket is this hook's own (not the admin live socket): it carries the project's stream auth,
// exactly what a frontend of the project would see. Reconnects after 2 s like Motia's clients.
import { useEffect, useState } from 'react'
import type { StreamItem } from './types'

export type SocketStatus = 'connecting' | 'open' | 'closed'

export interface StreamEvent {
  time: number
  type: string
  id?: string
  data: unknown
}

export interface GroupFeed {
  items: StreamItem[] | null // null until the first sync
  status: SocketStatus
  events: StreamEvent[] // custom events (ctx.streams.x.send), newest first
  error: string | undefined // a join the server refused (access denied, unknown stream)
  changes: number // create / update / delete seen since the sync
}

const RECONNECT_MS = 2000
const MAX_EVENTS = 50

interface ServerMessage {
  streamName?: string
  groupId?: string
  id?: string
  event?: { type?: string; data?: unknown; event?: { type?: string; data?: unknown } }
}

function socketUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${window.location.host}/`
}

function itemId(item: unknown): string | undefined {
  if (item && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string') return (item as { id: string }).id
  return undefined
}

/** Apply one server message to the items; unknown shapes leave them as they are. */
export function applyMessage(items: StreamItem[] | null, message: ServerMessage): StreamItem[] | null {
  const event = message.event
  if (!event) return items
  if (event.type === 'sync') return Array.isArray(event.data) ? (event.data as StreamItem[]) : []
  const id = message.id ?? itemId(event.data)
  if (id === undefined || items === null) return items
  if (event.type === 'create' || event.type === 'update') {
    const item = { ...(event.data as object), id } as StreamItem
    const at = items.findIndex((i) => i.id === id)
    return at < 0 ? [...items, item] : items.map((i, n) => (n === at ? item : i))
  }
  if (event.type === 'delete') return items.filter((i) => i.id !== id)
  return items
}

export function useStreamGroup(stream: string, group: string): GroupFeed {
  const [feed, setFeed] = useState<GroupFeed>({ items: null, status: 'connecting', events: [], error: undefined, changes: 0 })
  useEffect(() => {
    let ws: WebSocket | null = null
    let timer: ReturnType<typeof setTimeout> | null = null
    let stopped = false
    const subscriptionId = `workbench-${Math.random().toString(36).slice(2)}`
    setFeed({ items: null, status: 'connecting', events: [], error: undefined, changes: 0 })
    const connect = (): void => {
      const socket = new WebSocket(socketUrl())
      let opened = false
      ws = socket
      socket.onopen = () => {
        opened = true
        setFeed((f) => ({ ...f, status: 'open', error: undefined }))
        socket.send(JSON.stringify({ type: 'join', data: { streamName: stream, groupId: group, subscriptionId } }))
      }
      socket.onmessage = (e: MessageEvent) => {
        if (typeof e.data !== 'string') return
        let message: ServerMessage
        try {
          message = JSON.parse(e.data) as ServerMessage
        } catch {
          return
        }
        if (message.streamName !== stream || message.groupId !== group) return
        const event = message.event
        if (event?.type === 'event') {
          const custom = event.event ?? {}
          if (custom.type === 'error') {
            const data = (custom.data ?? {}) as { code?: string; message?: string }
            setFeed((f) => ({ ...f, error: `${data.code ?? 'error'}: ${data.message ?? 'the join was refused'}` }))
            return
          }
          const entry: StreamEvent = { time: Date.now(), type: custom.type ?? '?', data: custom.data }
          if (message.id !== undefined) entry.id = message.id
          setFeed((f) => ({ ...f, events: [entry, ...f.events].slice(0, MAX_EVENTS) }))
          return
        }
        setFeed((f) => ({
          ...f,
          items: applyMessage(f.items, message),
          changes: event?.type === 'sync' ? 0 : f.changes + 1,
          error: undefined,
        }))
      }
      socket.onclose = () => {
        ws = null
        if (stopped) return
        // refused before the upgrade: the browser hides the answer, so name the likely reasons
        const refused = opened
          ? undefined
          : `the streams WebSocket at / refused the connection (retrying every ${RECONNECT_MS / 1000} s): ` +
            "a --cors-origins list without this page's origin, or the project's stream auth hook said no"
        setFeed((f) => ({ ...f, status: 'closed', error: refused ?? f.error }))
        timer = setTimeout(connect, RECONNECT_MS)
      }
    }
    connect()
    return () => {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      if (ws !== null) {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: 'leave', data: { streamName: stream, groupId: group, subscriptionId } }))
        }
        ws.close()
      }
    }
  }, [stream, group])
  return feed
}
