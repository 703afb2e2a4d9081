// Queue: depth / in flight / scheduled retries per subscription (GET /__motia/queue) and the dead
// letters (GET /__motia/dlq), each with its failure chain (GET /__motia/dlq/{id}: every attempt's error,
// stack, runner and time), replay (POST …/replay: attempts start over) and purge (DELETE, or
// POST /__motia/dlq/purge for all), each behind a confirm. Refetched on the live "queue" message.
// Route: #/queue/<dead letter id>.
import React, { useState } from 'react'
import { sendJson, useApi } from '../api'
import { ErrorLine, Json } from '../components/common'
import { useLive } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import { ConfirmButton } from './ops/controls'
import { errorText, formatDateTime, relative } from './ops/format'
import type { DeadLetter, DeadLetterSummary, QueueDoc } from './ops/types'
import './ops/ops.css'

// A POST must be application/json for the admin guard (docs/security.md), so actions send `{}`.
const NO_BODY = {}

function Subscriptions({ doc }: { doc: QueueDoc | undefined }): React.JSX.Element {
  const rows = doc?.subscriptions ?? []
  return (
    <table className="table" data-testid="queue-subscriptions">
      <thead>
        <tr>
          <th>topic</th>
          <th>step</th>
          <th className="ops-num">depth</th>
          <th className="ops-num">in flight</th>
          <th className="ops-num">scheduled retries</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={`${s.topic}\u0000${s.step}`} data-topic={s.topic} data-step={s.step}>
            <td className="mono">{s.topic}</td>
            <td>{s.step}</td>
            <td className="ops-num" data-field="depth">
              {s.depth}
            </td>
            <td className="ops-num" data-field="inFlight">
              {s.inFlight}
            </td>
            <td className="ops-num" data-field="scheduled">
              {s.scheduled}
            </td>
          </tr>
        ))}
        {doc && rows.length === 0 && (
          <tr>
            <td colSpan={5} className="empty">
              No subscriptions (no event steps).
            </td>
          </tr>
        )}
      </tbody>
    </table>
  )
}

function LetterDetails({ id, onChanged }: { id: string; onChanged: (message: string) => void }): React.JSX.Element {
  const letter = useApi<DeadLetter>(`/__motia/dlq/${encodeURIComponent(id)}`)
  const [error, setError] = useState<string | undefined>()
  const act = (promise: Promise<unknown>, done: string): Promise<void> =>
    promise.then(
      () => {
        setError(undefined)
        onChanged(done)
        window.location.hash = href('queue')
      },
      (err: unknown) => setError(errorText(err)),
    )
  if (letter.error) return <aside className="side"><ErrorLine error={letter.error} /></aside>
  const doc = letter.data
  if (!doc) return <aside className="side"><p className="empty">Loading {id}…</p></aside>
  return (
    <aside className="side" data-testid="dlq-letter" data-letter-id={doc.id} style={{ width: 460 }}>
      <h2>Dead letter</h2>
      <dl>
        <dt>topic</dt>
        <dd className="mono">{doc.topic}</dd>
        <dt>subscription</dt>
        <dd className="mono">{doc.subscription}</dd>
        <dt>trace</dt>
        <dd className="mono">
          <a href={href('traces', doc.traceId)}>{doc.traceId}</a>
        </dd>
        {doc.messageGroupId && (
          <>
            <dt>message group</dt>
            <dd className="mono">{doc.messageGroupId}</dd>
          </>
        )}
        <dt>attempts</dt>
        <dd>{doc.attempts}</dd>
        <dt>enqueued</dt>
        <dd className="mono">{formatDateTime(doc.enqueuedAt)}</dd>
        <dt>died</dt>
        <dd className="mono">
          {formatDateTime(doc.diedAt)} ({relative(doc.diedAt)})
        </dd>
      </dl>
      <div className="toolbar">
        <ConfirmButton
          label="Replay"
          question="Deliver it again (attempts start over)?"
          onConfirm={() =>
            act(sendJson('POST', `/__motia/dlq/${encodeURIComponent(doc.id)}/replay`, NO_BODY), `replayed ${doc.id}`)
          }
          testId="dlq-replay"
        />
        <ConfirmButton
          label="Purge"
          question="Delete this letter for good?"
          danger
          onConfirm={() => act(sendJson('DELETE', `/__motia/dlq/${encodeURIComponent(doc.id)}`), `purged ${doc.id}`)}
          testId="dlq-purge"
        />
      </div>
      <ErrorLine error={error} />
      <h3>Failure chain ({doc.failures.length})</h3>
      <ol className="failure-chain" data-testid="dlq-failures">
        {doc.failures.map((f, n) => (
          <li key={n} data-attempt={f.attempt}>
            <div>
              <strong>attempt {f.attempt}</strong> <span className="mono">{formatDateTime(f.time)}</span>{' '}
              {f.kind && <span className="empty">{f.kind}</span>}
            </div>
            <div className="error">
              {f.errorType}: {f.message}
            </div>
            {f.runner && <div className="empty mono">{f.runner}</div>}
            {f.stack && (
              <details>
                <summary>stack</summary>
                <pre className="json">{f.stack}</pre>
              </details>
            )}
          </li>
        ))}
      </ol>
      <h3>Payload</h3>
      <Json value={doc.data} />
    </aside>
  )
}

function QueuePanel({ route }: PanelProps): React.JSX.Element {
  const stats = useApi<QueueDoc>('/__motia/queue')
  const letters = useApi<{ deadLetters: DeadLetterSummary[] }>('/__motia/dlq')
  const [notice, setNotice] = useState<string | undefined>()
  const [error, setError] = useState<string | undefined>()
  const refresh = (): void => {
    stats.reload()
    letters.reload()
  }
  useLive('queue', refresh)
  useLive('reconnected', refresh)
  const [selectedId] = route
  const list = letters.data?.deadLetters ?? []
  const changed = (message: string): void => {
    setNotice(message)
    refresh()
  }
  const purgeAll = (): Promise<void> =>
    sendJson<{ purged: number }>('POST', '/__motia/dlq/purge', NO_BODY).then(
      (answer) => {
        setError(undefined)
        changed(`purged ${answer.purged} dead letter(s)`)
        window.location.hash = href('queue')
      },
      (err: unknown) => setError(errorText(err)),
    )
  return (
    <>
      <div className="toolbar">
        <h1 style={{ margin: 0 }}>Queue</h1>
        <button onClick={refresh}>Refresh</button>
        {notice && (
          <span className="state-ok" data-testid="queue-notice">
            {notice}
          </span>
        )}
      </div>
      <ErrorLine error={stats.error ?? letters.error ?? error} />
      <div className="split">
        <div className="main ops-scroll">
          <Subscriptions doc={stats.data} />
          <div className="toolbar" style={{ marginTop: 16 }}>
            <h2 style={{ margin: 0 }}>Dead letters</h2>
            <span className="empty" data-testid="dlq-count">
              {stats.data?.deadLetters ?? list.length}
            </span>
            <ConfirmButton
              label="Purge all"
              question={`Delete all ${list.length} dead letters for good?`}
              danger
              disabled={list.length === 0}
              onConfirm={purgeAll}
              testId="dlq-purge-all"
            />
          </div>
          <table className="table" data-testid="dlq-list">
            <thead>
              <tr>
                <th>died</th>
                <th>topic</th>
                <th>subscription</th>
                <th className="ops-num">attempts</th>
                <th>last error</th>
                <th>trace</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr
                  key={d.id}
                  data-letter-id={d.id}
                  className={`selectable${d.id === selectedId ? ' selected' : ''}`}
                  onClick={() => (window.location.hash = href('queue', d.id))}
                >
                  <td className="mono ops-nowrap">{formatDateTime(d.diedAt)}</td>
                  <td className="mono">{d.topic}</td>
                  <td className="mono">{d.subscription}</td>
                  <td className="ops-num">{d.attempts}</td>
                  <td className="error">{d.lastError ?? '—'}</td>
                  <td className="mono ops-nowrap">
                    <a href={href('traces', d.traceId)} onClick={(e) => e.stopPropagation()}>
                      {d.traceId}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {letters.data && list.length === 0 && <p className="empty">No dead letters.</p>}
        </div>
        {selectedId && <LetterDetails key={selectedId} id={selectedId} onChanged={changed} />}
      </div>
    </>
  )
}

const panel: Panel = { id: 'queue', title: 'Queue', order: 70, Component: QueuePanel }
export default panel
