// Typed fetch helpers for the admin API (/__motia/*). Every failure becomes an ApiError carrying the
// server's JSON message; a 401 also tells the shell to show the login form (token mode).
import { useCallback, useEffect, useRef, useState } from 'react'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

type Query = Record<string, string | number | boolean | null | undefined>

const unauthorizedListeners = new Set<() => void>()

/** Called on every 401 from the admin API; returns the unsubscribe function. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path
}

function errorMessage(status: number, statusText: string, body: unknown): string {
  if (body && typeof body === 'object') {
    const doc = body as Record<string, unknown>
    const parts = [doc['error'], doc['message']].filter((part): part is string => typeof part === 'string')
    if (parts.length) return `${status}: ${parts.join(': ')}`
  }
  return `${status} ${statusText}`
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers = { ...init.headers, 'Content-Type': 'application/json' }
  }
  let response: Response
  try {
    response = await fetch(path, init)
  } catch (err) {
    throw new ApiError(0, `${method} ${path}: the core did not answer (${String(err)})`, null)
  }
  const text = await response.text()
  let parsed: unknown = null
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = text
    }
  }
  if (!response.ok) {
    if (response.status === 401) for (const listener of unauthorizedListeners) listener()
    throw new ApiError(response.status, `${method} ${path}: ${errorMessage(response.status, response.statusText, parsed)}`, parsed)
  }
  return parsed as T
}

export function getJson<T>(path: string, query?: Query): Promise<T> {
  return request<T>('GET', withQuery(path, query))
}

export function sendJson<T>(method: 'POST' | 'PUT' | 'DELETE' | 'PATCH', path: string, body?: unknown): Promise<T> {
  return request<T>(method, path, body)
}

export interface Loaded<T> {
  data: T | undefined
  error: string | undefined
  loading: boolean
  reload: () => void
}

/** GET `path` now and whenever `path` changes; `reload()` refetches (a live message, a button). The
 *  previous data stays visible while reloading so a live refresh does not flicker. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [loading, setLoading] = useState<boolean>(path !== null)
  const [tick, setTick] = useState(0)
  const latest = useRef(0)
  useEffect(() => {
    if (path === null) return
    const id = ++latest.current
    setLoading(true)
    getJson<T>(path).then(
      (value) => {
        if (id !== latest.current) return
        setData(value)
        setError(undefined)
        setLoading(false)
      },
      (err: unknown) => {
        if (id !== latest.current) return
        setError(err instanceof Error ? err.message : String(err))
        setLoading(false)
      },
    )
  }, [path, tick])
  const reload = useCallback(() => setTick((n) => n + 1), [])
  return { data, error, loading, reload }
}
