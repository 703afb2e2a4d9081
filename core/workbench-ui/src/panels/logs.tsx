// Logs: the kept log lines (GET /__motia/logs, newest first) with filters, "older" paging through the
// `before` cursor, and the live tail (the live socket's "log" messages) prepended as they arrive. Trace
// ids link to the Traces panel. `#/logs/trace/<id>` opens the panel filtered to one trace.
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { getJson } from '../api'
import { ErrorLine, Json, LanguageBadge } from '../components/common'
import { setLogFilter, useLive, type LiveMessage } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import { errorText, formatDateTime } from './ops/format'
import type { LogPage, LogRecord } from './ops/types'
import './ops/ops.css'

const PAGE = 200
const MAX_LIVE = 2000 // live lines kept in the page before the oldest fall off (paging finds them again)
const LEVELS = ['debug', 'info', 'warn', 'error'] as const
const RANK: Record<string, number> = { trace: 0, debug: 0, info: 1, warn: 2, warning: 2, error: 3, fatal: 3 }

interface Filters {
  level: string
  step: string
  traceId: string
  q: string
}

const NO_FILTERS: Filters = { level: '', step: '', traceId: '', q: '' }

/** The same test the server applies, for live lines (the socket narrows by level, step and trace id
 *  but not by text). */
export function matches(log: LogRecord, f: Filters): boolean {
  if (f.level && (RANK[log.level] ?? 1) < (RANK[f.level] ?? 0)) return false
  if (f.step && log.step !== f.step) return false
  if (f.traceId && log.traceId !== f.traceId) return false
  if (f.q && !log.message.toLowerCase().includes(f.q.toLowerCase())) return false
  return true
}

function LogRow({ log, fresh }: { log: LogRecord; fresh: boolean }): React.JSX.Element {
  const [open, setOpen] = useState(false)
  const hasFields = log.fields && Object.keys(log.fields).length > 0
  return (
    <>
      <tr className={`log-row${fresh ? ' log-new' : ''}`} data-log-id={String(log.id)} data-level={log.level}>
        <td className="mono" style={{ whiteSpace: 'nowrap' }}>
          {formatDateTime(log.time)}
        </td>
        <td className={`log-level log-level-${log.level}`}>{log.level}</td>
        <td style={{ whiteSpace: 'nowrap' }}>
          {log.language && <LanguageBadge language={log.language} />} {log.step ?? <span className="empty">core</span>}
        </td>
        <td className="log-message">
          {log.message}
          {hasFields && (
            <button style={{ marginLeft: 8, padding: '0 6px' }} onClick={() => setOpen(!open)} aria-expanded={open}>
              {open ? 'hide fields' : 'fields'}
            </button>
          )}
        </td>
        <td className="mono ops-nowrap">
          {log.traceId ? (
            <a href={href('traces', log.traceId)} data-testid="log-trace-link">
              {log.traceId}
            </a>
          ) : (
            '—'
          )}
        </td>
      </tr>
      {open && hasFields && (
        <tr>
          <td colSpan={5}>
            <Json value={log.fields} />
          </td>
        </tr>
      )}
    </>
  )
}

function LogsPanel({ route }: PanelProps): React.JSX.Element {
  const routeTrace = route[0] === 'trace' ? route[1] : undefined
  const initial = routeTrace ? { ...NO_FILTERS, traceId: routeTrace } : NO_FILTERS
  const [draft, setDraft] = useState<Filters>(initial)
  const [filters, setFilters] = useState<Filters>(initial)
  // a link to #/logs/trace/<id> while the panel is open (it stays mounted): all of that trace's lines
  useEffect(() => {
    if (!routeTrace) return
    setDraft({ ...NO_FILTERS, traceId: routeTrace })
    setFilters({ ...NO_FILTERS, traceId: routeTrace })
  }, [routeTrace])
  const [rows, setRows] = useState<LogRecord[]>([])
  const [next, setNext] = useState<string | number | null>(null)
  const [error, setError] = useState<string | undefined>()
  const [loading, setLoading] = useState(false)
  const [paused, setPaused] = useState(false)
  const [fresh, setFresh] = useState<Set<string>>(new Set())
  const generation = useRef(0) // answers to an older filter set are dropped
  const held = useRef<LogRecord[]>([]) // live lines that arrived while paused
  // live lines that came while the first page was being fetched: they may be newer than that page
  const sinceReload = useRef<LogRecord[] | null>(null)
  const [heldCount, setHeldCount] = useState(0)

  const query = useCallback(
    (before: string | number | null) =>
      getJson<LogPage>('/__motia/logs', {
        level: filters.level,
        step: filters.step,
        traceId: filters.traceId,
        q: filters.q,
        limit: PAGE,
        before: before ?? undefined,
      }),
    [filters],
  )

  const reload = useCallback(() => {
    const id = ++generation.current
    setLoading(true)
    sinceReload.current = []
    query(null).then(
      (page) => {
        if (id !== generation.current) return
        // a line stored after the query ran came live meanwhile: keep it on top, not lost under the page
        const inPage = new Set(page.logs.map((l) => String(l.id)))
        const newer = (sinceReload.current ?? []).filter((l) => !inPage.has(String(l.id))).reverse()
        sinceReload.current = null
        setRows([...newer, ...page.logs])
        setNext(page.next)
        setError(undefined)
        setLoading(false)
      },
      (err: unknown) => {
        if (id !== generation.current) return
        sinceReload.current = null
        setError(errorText(err))
        setLoading(false)
      },
    )
  }, [query])

  useEffect(reload, [reload])

  // the server narrows the live tail too, so a busy project does not flood a filtered view
  useEffect(() => {
    const live: Record<string, string> = {}
    if (filters.level) live['level'] = filters.level
    if (filters.step) live['step'] = filters.step
    if (filters.traceId) live['traceId'] = filters.traceId
    setLogFilter(Object.keys(live).length ? live : null)
    return () => setLogFilter(null)
  }, [filters])

  const older = (): void => {
    if (next === null) return
    const id = generation.current
    setLoading(true)
    query(next).then(
      (page) => {
        if (id !== generation.current) return
        setRows((prev) => [...prev, ...page.logs])
        setNext(page.next)
        setLoading(false)
      },
      (err: unknown) => {
        setError(errorText(err))
        setLoading(false)
      },
    )
  }

  const add = useCallback((logs: LogRecord[]) => {
    sinceReload.current?.push(...logs)
    setRows((prev) => {
      const known = new Set(prev.map((l) => String(l.id)))
      const added = logs.filter((l) => !known.has(String(l.id)))
      if (added.length === 0) return prev
      return [...added.reverse(), ...prev]
    })
    setFresh(new Set(logs.map((l) => String(l.id))))
  }, [])

  // past MAX_LIVE lines the oldest shown fall off, and "Older" resumes right below the last one kept
  useEffect(() => {
    const last = rows[MAX_LIVE - 1]
    if (rows.length <= MAX_LIVE || last === undefined) return
    setRows(rows.slice(0, MAX_LIVE))
    setNext(last.id)
  }, [rows])

  useLive('log', (message: LiveMessage) => {
    const log = message['log'] as LogRecord | undefined
    if (!log || typeof log.message !== 'string' || !matches(log, filters)) return
    if (paused) {
      held.current.push(log)
      // a long pause on a busy project: keep the newest; resume then refetches instead (no gap)
      if (held.current.length > MAX_LIVE) held.current.shift()
      setHeldCount((n) => n + 1)
    } else add([log])
  })
  useLive('reconnected', reload)

  const resume = (): void => {
    setPaused(false)
    if (heldCount > held.current.length) reload()
    else add(held.current)
    held.current = []
    setHeldCount(0)
  }

  const apply = (e: React.FormEvent): void => {
    e.preventDefault()
    setFilters({ ...draft, step: draft.step.trim(), traceId: draft.traceId.trim() })
  }
  const steps = useMemo(() => [...new Set(rows.map((r) => r.step).filter((s): s is string => !!s))].sort(), [rows])
  const field = (name: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setDraft({ ...draft, [name]: e.target.value })

  return (
    <>
      <h1>Logs</h1>
      <form className="toolbar" onSubmit={apply} data-testid="log-filters">
        <select aria-label="Lowest level" value={draft.level} onChange={field('level')} data-testid="log-level">
          <option value="">all levels</option>
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l}+
            </option>
          ))}
        </select>
        <input
          aria-label="Step"
          placeholder="step"
          list="log-steps"
          value={draft.step}
          onChange={field('step')}
          data-testid="log-step"
        />
        <datalist id="log-steps">
          {steps.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <input
          aria-label="Trace id"
          placeholder="trace id"
          value={draft.traceId}
          onChange={field('traceId')}
          data-testid="log-trace"
        />
        <input aria-label="Text" placeholder="text contains" value={draft.q} onChange={field('q')} data-testid="log-text" />
        <button type="submit" className="primary">
          Apply
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft(NO_FILTERS)
            setFilters(NO_FILTERS)
          }}
        >
          Clear
        </button>
        {paused ? (
          <button type="button" onClick={resume} data-testid="log-resume">
            Resume live ({heldCount} waiting)
          </button>
        ) : (
          <button type="button" onClick={() => setPaused(true)} data-testid="log-pause">
            Pause live
          </button>
        )}
        <span className="empty">{loading ? 'loading…' : `${rows.length} lines`}</span>
      </form>
      <ErrorLine error={error} />
      <div className="ops-scroll">
        <table className="table" data-testid="log-table">
          <thead>
            <tr>
              <th>time</th>
              <th>level</th>
              <th>step</th>
              <th>message</th>
              <th>trace</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((log) => (
              <LogRow key={String(log.id)} log={log} fresh={fresh.has(String(log.id))} />
            ))}
          </tbody>
        </table>
        {!loading && rows.length === 0 && !error && <p className="empty">No log lines match.</p>}
        <div className="toolbar" style={{ marginTop: 8 }}>
          <button disabled={next === null || loading} onClick={older} data-testid="log-older">
            {next === null ? 'No older lines' : `Older (${PAGE} more)`}
          </button>
        </div>
      </div>
    </>
  )
}

const panel: Panel = { id: 'logs', title: 'Logs', order: 40, Component: LogsPanel }
export default panel
