// Traces: a live list (the "trace" live message updates or inserts a row without reload) and a trace
// as a timeline: one bar per span (attempts included) coloured by language, indented under the span
// that emitted its event (parentId), with the span's events, error and attempt in a side panel.
import React, { useMemo, useState } from 'react'
import { getJson, useApi } from '../api'
import { ErrorLine, Json, LanguageBadge, formatDuration, formatTime, languageLook } from '../components/common'
import { useLive, type LiveMessage } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import type { Span, SpanEvent, TraceDetail, TraceSummary } from '../types'

const LIST_LIMIT = 100
const LIVE_KEEP = 500

function durationOf(trace: TraceSummary): number | null {
  if (typeof trace.durationMs === 'number') return trace.durationMs
  return trace.endTime ? trace.endTime - trace.startTime : null
}

function TraceList({ selectedId }: { selectedId: string | undefined }): React.JSX.Element {
  const page = useApi<{ traces: TraceSummary[]; next: string | null }>(`/__motia/traces?limit=${LIST_LIMIT}`)
  // live rows by id; merged over the fetched page so a newer version of a fetched trace wins
  const [live, setLive] = useState<Map<string, TraceSummary>>(new Map())
  useLive('trace', (message: LiveMessage) => {
    const trace = message['trace'] as TraceSummary | undefined
    if (!trace || typeof trace.id !== 'string') return
    setLive((prev) => {
      const next = new Map(prev).set(trace.id, trace)
      if (next.size <= LIVE_KEEP) return next
      // a tab left open for hours keeps the newest ones only; older ones are a page fetch away
      const newest = [...next.values()].sort((a, b) => b.startTime - a.startTime).slice(0, LIVE_KEEP)
      return new Map(newest.map((t) => [t.id, t]))
    })
  })
  useLive('reconnected', page.reload)
  // older pages, fetched on demand with the `next` cursor of the page before
  const [older, setOlder] = useState<{ traces: TraceSummary[]; next: string | null } | null>(null)
  const [olderError, setOlderError] = useState<string | undefined>()
  const cursor = older ? older.next : (page.data?.next ?? null)
  const loadOlder = (): void => {
    if (!cursor) return
    getJson<{ traces: TraceSummary[]; next: string | null }>('/__motia/traces', { limit: LIST_LIMIT, before: cursor }).then(
      (doc) => setOlder((prev) => ({ traces: [...(prev?.traces ?? []), ...doc.traces], next: doc.next })),
      (err: unknown) => setOlderError(err instanceof Error ? err.message : String(err)),
    )
  }
  const rows = useMemo(() => {
    const byId = new Map<string, TraceSummary>()
    for (const trace of older?.traces ?? []) byId.set(trace.id, trace)
    for (const trace of page.data?.traces ?? []) byId.set(trace.id, trace)
    for (const [id, trace] of live) byId.set(id, { ...byId.get(id), ...trace })
    return [...byId.values()].sort((a, b) => b.startTime - a.startTime)
  }, [page.data, older, live])
  return (
    <div className="main" style={{ overflow: 'auto' }}>
      <ErrorLine error={page.error} />
      {!page.loading && rows.length === 0 && !page.error && (
        <p className="empty">No traces yet: call an endpoint (the Endpoints panel) or emit an event.</p>
      )}
      <table className="table" data-testid="trace-list">
        <thead>
          <tr>
            <th>started</th>
            <th>trace</th>
            <th>status</th>
            <th>steps</th>
            <th>duration</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((trace) => (
            <tr
              key={trace.id}
              className={`selectable${trace.id === selectedId ? ' selected' : ''}`}
              data-trace-id={trace.id}
              onClick={() => (window.location.hash = href('traces', trace.id))}
            >
              <td className="mono">{formatTime(trace.startTime)}</td>
              <td>
                <div>{trace.name}</div>
                <div className="mono empty">{trace.id}</div>
              </td>
              <td className={`status-${trace.status}`}>{trace.status}</td>
              <td className="mono">
                {trace.steps ? `${trace.steps.done} done · ${trace.steps.running} running · ${trace.steps.failed} failed${trace.steps.retried ? ` · ${trace.steps.retried} retried` : ''}` : '—'}
              </td>
              <td className="mono">{formatDuration(durationOf(trace))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorLine error={olderError} />
      {cursor && (
        <div className="toolbar" style={{ marginTop: 8 }}>
          <button onClick={loadOlder}>Load older traces</button>
        </div>
      )}
    </div>
  )
}

/** Spans in timeline order: each child right after its parent (depth-first by start time). */
export function orderSpans(spans: Span[]): Array<{ span: Span; depth: number }> {
  const ids = new Set(spans.map((s) => s.id))
  const children = new Map<string, Span[]>()
  const roots: Span[] = []
  for (const span of [...spans].sort((a, b) => a.startTime - b.startTime)) {
    const parent = span.parentId && ids.has(span.parentId) && span.parentId !== span.id ? span.parentId : null
    if (parent === null) roots.push(span)
    else children.set(parent, [...(children.get(parent) ?? []), span])
  }
  const out: Array<{ span: Span; depth: number }> = []
  const seen = new Set<string>()
  const visit = (span: Span, depth: number): void => {
    if (seen.has(span.id)) return
    seen.add(span.id)
    out.push({ span, depth })
    for (const child of children.get(span.id) ?? []) visit(child, depth + 1)
  }
  for (const root of roots) visit(root, 0)
  for (const span of spans) visit(span, 0) // a cycle's members, never lost
  return out
}

function eventText(event: SpanEvent): string {
  const e = event as Record<string, unknown>
  switch (event.type) {
    case 'emit':
      return `topic ${String(e['topic'])}`
    case 'state':
      return `${String(e['op'])} ${String(e['group'] ?? '')}${e['key'] !== undefined ? ` / ${String(e['key'])}` : ''}`
    case 'stream':
      return `${String(e['op'])} ${String(e['stream'])} / ${String(e['group'] ?? '')}${e['id'] !== undefined ? ` / ${String(e['id'])}` : ''}`
    case 'log':
      return `[${String(e['level'])}] ${String(e['message'])}`
    default: {
      const { type: _type, time: _time, ...rest } = e
      return JSON.stringify(rest)
    }
  }
}

function SpanDetails({ span, spans }: { span: Span; spans: Span[] }): React.JSX.Element {
  const parent = spans.find((s) => s.id === span.parentId)
  return (
    <aside className="side" data-testid="span-details">
      <h2>
        {span.step} <LanguageBadge language={span.language} />
      </h2>
      <dl>
        <dt>status</dt>
        <dd className={`status-${span.status}`}>{span.status}</dd>
        <dt>attempt</dt>
        <dd>{span.attempt}</dd>
        <dt>type</dt>
        <dd>{span.type}</dd>
        {span.topic && (
          <>
            <dt>topic</dt>
            <dd className="mono">{span.topic}</dd>
          </>
        )}
        <dt>started</dt>
        <dd className="mono">{formatTime(span.startTime)}</dd>
        <dt>duration</dt>
        <dd className="mono">{formatDuration(span.endTime ? span.endTime - span.startTime : null)}</dd>
        {parent && (
          <>
            <dt>emitted by</dt>
            <dd>{parent.step}</dd>
          </>
        )}
      </dl>
      {span.error && (
        <>
          <h3>Error</h3>
          <pre className="json error">{span.error.message ?? JSON.stringify(span.error)}</pre>
          {span.error.stack && <pre className="json">{span.error.stack}</pre>}
        </>
      )}
      <h3>Events ({span.events?.length ?? 0})</h3>
      <ul className="event-list" data-testid="span-events">
        {(span.events ?? []).map((event, index) => (
          <li key={index} data-event-type={event.type}>
            <span className="etype">{event.type}</span> {eventText(event)}{' '}
            {typeof event.time === 'number' && <span className="empty">+{Math.max(0, event.time - span.startTime)} ms</span>}
          </li>
        ))}
      </ul>
    </aside>
  )
}

function TraceView({ id }: { id: string }): React.JSX.Element {
  const trace = useApi<TraceDetail>(`/__motia/traces/${encodeURIComponent(id)}`)
  useLive('trace', (message: LiveMessage) => {
    const summary = message['trace'] as TraceSummary | undefined
    if (summary?.id === id) trace.reload()
  })
  const [selectedSpan, setSelectedSpan] = useState<string | undefined>()
  const doc = trace.data
  const rows = useMemo(() => orderSpans(doc?.spans ?? []), [doc])
  if (trace.error) return <ErrorLine error={trace.error} />
  if (!doc) return <p className="empty">Loading trace {id}…</p>
  const start = Math.min(doc.startTime, ...doc.spans.map((s) => s.startTime))
  const now = Date.now()
  const end = Math.max(start + 1, ...doc.spans.map((s) => s.endTime ?? now))
  const scale = (t: number): number => ((t - start) / (end - start)) * 100
  const languages = [...new Set(doc.spans.map((s) => s.language))]
  const selected = doc.spans.find((s) => s.id === selectedSpan)
  return (
    <div data-testid="trace-view" data-trace-id={doc.id}>
      <div className="toolbar">
        <a href={href('traces')}>← all traces</a>
        <h2 style={{ margin: 0 }}>{doc.name}</h2>
        <span className={`status-${doc.status}`}>{doc.status}</span>
        <span className="mono empty">{doc.id}</span>
        <span className="mono">{formatDuration(end - start)}</span>
        {languages.map((language) => (
          <LanguageBadge key={language} language={language} />
        ))}
      </div>
      {doc.dropped && <p className="empty">{doc.dropped.note} ({doc.dropped.count} dropped)</p>}
      <div className="split">
        <div className="main timeline" data-testid="timeline">
          <div className="timeline-axis">
            <span>{rows.length} spans</span>
            <span className="ticks">
              {[0, 0.25, 0.5, 0.75, 1].map((f) => (
                <span key={f}>{f === 0 ? '0' : formatDuration((end - start) * f)}</span>
              ))}
            </span>
          </div>
          {rows.map(({ span, depth }) => (
            <div
              key={span.id}
              className={`timeline-row${span.id === selectedSpan ? ' selected' : ''}`}
              data-span-step={span.step}
              data-language={span.language}
              data-status={span.status}
              onClick={() => setSelectedSpan(span.id === selectedSpan ? undefined : span.id)}
            >
              <div className="timeline-label" style={{ paddingLeft: depth * 14 }}>
                <LanguageBadge language={span.language} /> {span.step}
                {span.attempt > 1 && <span className="empty"> · attempt {span.attempt}</span>}
                {span.status === 'failed' && <span className="status-failed"> ✕</span>}
              </div>
              <div className="timeline-track">
                <div
                  className={`timeline-bar ${languageLook(span.language).className} ${span.status}`}
                  style={{
                    ...languageLook(span.language).style,
                    left: `${scale(span.startTime)}%`,
                    width: `${Math.max(0.4, scale(span.endTime ?? now) - scale(span.startTime))}%`,
                  }}
                  title={`${span.step}: ${formatDuration((span.endTime ?? now) - span.startTime)}`}
                />
                {(span.events ?? []).map((event, index) =>
                  typeof event.time === 'number' ? (
                    <div
                      key={index}
                      className={`timeline-mark mark-${event.type}`}
                      style={{ left: `${scale(event.time)}%` }}
                      title={`${event.type}: ${eventText(event)}`}
                    />
                  ) : null,
                )}
              </div>
            </div>
          ))}
          {rows.length === 0 && <p className="empty">This trace has no spans yet.</p>}
        </div>
        {selected && <SpanDetails span={selected} spans={doc.spans} />}
      </div>
      {doc.dropped && <Json value={doc.dropped} />}
    </div>
  )
}

function TracesPanel({ route }: PanelProps): React.JSX.Element {
  const [id] = route
  return (
    <>
      <h1>Traces</h1>
      {id ? <TraceView key={id} id={id} /> : <TraceList selectedId={undefined} />}
    </>
  )
}

const panel: Panel = { id: 'traces', title: 'Traces', order: 30, Component: TracesPanel }
export default panel
