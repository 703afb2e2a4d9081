// Endpoints: every API step; a request form from its path params (`:id`), a query string, and a body
// form generated from bodySchema (or raw JSON); the response's status, headers and body, and a link to
// the trace of the call (the core sets x-motia-trace-id on every API response).
import React, { useEffect, useMemo, useState } from 'react'
import { useApi } from '../api'
import { ErrorLine, Json, LanguageBadge, formatDuration } from '../components/common'
import { useLive } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import { SchemaForm, exampleFor, objectProperties } from '../schema-form'
import type { StepInfo } from '../types'

const TRACE_HEADER = 'x-motia-trace-id'
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

interface CallResult {
  status: number
  statusText: string
  headers: Array<[string, string]>
  body: unknown
  traceId: string | null
  ms: number
}

export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '').filter(Boolean)
}

function buildUrl(path: string, params: Record<string, string>, query: string): string {
  const filled = path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''))
  const q = query.trim().replace(/^\?/, '')
  return q ? `${filled}?${q}` : filled
}

async function call(method: string, url: string, body: unknown): Promise<CallResult> {
  const started = performance.now()
  const init: RequestInit = { method, headers: {} }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers = { 'Content-Type': 'application/json' }
  }
  const response = await fetch(url, init)
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    // not JSON: show the text as it came
  }
  return {
    status: response.status,
    statusText: response.statusText,
    headers: [...response.headers.entries()],
    body: parsed,
    traceId: response.headers.get(TRACE_HEADER),
    ms: performance.now() - started,
  }
}

function RequestForm({ step }: { step: StepInfo }): React.JSX.Element {
  const method = (step.method ?? 'GET').toUpperCase()
  const hasBody = BODY_METHODS.has(method)
  const formable = objectProperties(step.bodySchema) !== null
  const [params, setParams] = useState<Record<string, string>>({})
  const [query, setQuery] = useState('')
  const [body, setBody] = useState<Record<string, unknown>>(() => (exampleFor(step.bodySchema) as Record<string, unknown>) ?? {})
  const [raw, setRaw] = useState(() => JSON.stringify(exampleFor(step.bodySchema) ?? {}, null, 2))
  const [rawMode, setRawMode] = useState(!formable)
  const [result, setResult] = useState<CallResult | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const names = pathParams(step.path ?? '')

  const send = async (): Promise<void> => {
    setError(undefined)
    let payload: unknown = undefined
    if (hasBody) {
      if (rawMode) {
        try {
          payload = raw.trim() ? JSON.parse(raw) : undefined
        } catch (err) {
          setError(`the body is not valid JSON: ${String(err)}`)
          return
        }
      } else payload = body
    }
    setBusy(true)
    try {
      setResult(await call(method, buildUrl(step.path ?? '/', params, query), payload))
    } catch (err) {
      setError(`the request failed: ${String(err)}`)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div data-testid="request-form">
      <h2>
        <span className={`method method-${method}`}>{method}</span> <span className="mono">{step.path}</span>{' '}
        <LanguageBadge language={step.language} />
      </h2>
      {step.description && <p>{step.description}</p>}
      <div className="form-grid">
        {names.map((name) => (
          <React.Fragment key={name}>
            <label htmlFor={`param-${name}`}>:{name}</label>
            <input id={`param-${name}`} value={params[name] ?? ''} onChange={(e) => setParams({ ...params, [name]: e.target.value })} />
          </React.Fragment>
        ))}
        <label htmlFor="query">query</label>
        <input id="query" placeholder="a=1&b=two" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      {hasBody && (
        <>
          <div className="toolbar">
            <strong>Body</strong>
            {formable && (
              <label>
                <input type="checkbox" checked={rawMode} onChange={(e) => {
                  if (e.target.checked) setRaw(JSON.stringify(body, null, 2))
                  setRawMode(e.target.checked)
                }} />{' '}
                raw JSON
              </label>
            )}
          </div>
          {rawMode || !step.bodySchema ? (
            <textarea aria-label="Request body" rows={8} style={{ width: '100%' }} value={raw} onChange={(e) => setRaw(e.target.value)} />
          ) : (
            <SchemaForm schema={step.bodySchema} value={body} onChange={setBody} />
          )}
        </>
      )}
      <div className="toolbar">
        <button className="primary" onClick={() => void send()} disabled={busy}>
          {busy ? 'Sending…' : 'Send'}
        </button>
      </div>
      <ErrorLine error={error} />
      {result && (
        <section data-testid="response">
          <h2>
            Response <span className={result.status < 400 ? 'status-ok' : 'status-failed'} data-testid="response-status">
              {result.status} {result.statusText}
            </span>{' '}
            <span className="empty">{formatDuration(result.ms)}</span>
          </h2>
          {result.traceId && (
            <p>
              Trace:{' '}
              <a href={href('traces', result.traceId)} data-testid="trace-link">
                {result.traceId}
              </a>
            </p>
          )}
          <table className="table">
            <tbody>
              {result.headers.map(([name, value]) => (
                <tr key={name}>
                  <td className="mono">{name}</td>
                  <td className="mono">{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Body</h3>
          <Json value={result.body} />
        </section>
      )}
    </div>
  )
}

function EndpointsPanel({ route }: PanelProps): React.JSX.Element {
  const steps = useApi<{ steps: StepInfo[] }>('/__motia/steps')
  useLive('flows', steps.reload)
  const apis = useMemo(
    () => (steps.data?.steps ?? []).filter((s) => s.type === 'api').sort((a, b) => (a.path ?? '').localeCompare(b.path ?? '')),
    [steps.data],
  )
  const selected = apis.find((s) => s.id === route[0])
  useEffect(() => {
    const first = apis[0]
    if (!selected && first) window.location.replace(href('endpoints', first.id))
  }, [apis, selected])
  return (
    <>
      <h1>Endpoints</h1>
      <ErrorLine error={steps.error} />
      {!steps.loading && apis.length === 0 && !steps.error && <p className="empty">This project has no API steps.</p>}
      <div className="split">
        <div className="endpoint-list" role="list">
          {apis.map((step) => (
            <a
              key={step.id}
              role="listitem"
              href={href('endpoints', step.id)}
              className={`item${step === selected ? ' selected' : ''}`}
              data-endpoint={`${step.method} ${step.path}`}
              style={{ color: 'inherit', textDecoration: 'none' }}
            >
              <span className={`method method-${step.method}`}>{step.method}</span>
              <span className="mono" style={{ flex: 1 }}>
                {step.path}
              </span>
              <LanguageBadge language={step.language} />
            </a>
          ))}
        </div>
        <div className="main">{selected && <RequestForm key={selected.id} step={selected} />}</div>
      </div>
    </>
  )
}

const panel: Panel = { id: 'endpoints', title: 'Endpoints', order: 20, Component: EndpointsPanel }
export default panel
