// Runners: one row per language runner (GET /__motia/runners): pid, state, in flight, restarts, uptime,
// version, slots, step files. Runners change state without a live message, so the panel refetches
// every 2 s while open; uptime ticks locally between fetches (startedAt, else uptimeMs at fetch time).
import React, { useEffect, useRef, useState } from 'react'
import { useApi } from '../api'
import { ErrorLine, LanguageBadge } from '../components/common'
import { useLive } from '../live'
import type { Panel } from '../panel'
import { formatDateTime, span } from './ops/format'
import type { RunnerInfo } from './ops/types'
import './ops/ops.css'

const REFRESH_MS = 2000

function stateClass(state: string): string {
  if (state === 'ready') return 'state-ok'
  if (state === 'failed' || state === 'stopped' || state === 'crashed') return 'state-bad'
  return 'status-running'
}

function RunnersPanel(): React.JSX.Element {
  const runners = useApi<{ runners: RunnerInfo[] }>('/__motia/runners')
  const { reload, data } = runners
  const [now, setNow] = useState(Date.now())
  const fetchedAt = useRef(Date.now())
  useEffect(() => {
    fetchedAt.current = Date.now()
  }, [data])
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000)
    const poll = setInterval(reload, REFRESH_MS)
    return () => {
      clearInterval(tick)
      clearInterval(poll)
    }
  }, [reload])
  useLive('reconnected', reload)
  const list = data?.runners ?? []
  const uptime = (r: RunnerInfo): string => {
    if (typeof r.startedAt === 'number') return span(Math.max(0, now - r.startedAt))
    if (typeof r.uptimeMs === 'number') return span(r.uptimeMs + Math.max(0, now - fetchedAt.current))
    return '—'
  }
  return (
    <>
      <div className="toolbar">
        <h1 style={{ margin: 0 }}>Runners</h1>
        <button onClick={reload}>Refresh</button>
      </div>
      <ErrorLine error={runners.error} />
      <table className="table" data-testid="runner-table">
        <thead>
          <tr>
            <th>runner</th>
            <th className="ops-num">pid</th>
            <th>state</th>
            <th className="ops-num">in flight</th>
            <th className="ops-num">restarts</th>
            <th>uptime</th>
            <th>started</th>
            <th>version</th>
            <th className="ops-num">slots</th>
            <th className="ops-num">step files</th>
          </tr>
        </thead>
        <tbody>
          {list.map((r) => (
            <tr key={r.runtime} data-runtime={r.runtime} data-pid={r.pid ?? ''} data-state={r.state}>
              <td>
                {(r.languages && r.languages.length > 0 ? r.languages : [r.runtime]).map((lang) => (
                  <LanguageBadge key={lang} language={lang} />
                ))}{' '}
                {r.runtime}
                {r.language && r.language !== r.runtime && <span className="empty"> ({r.language})</span>}
              </td>
              <td className="ops-num mono" data-field="pid">
                {r.pid ?? '—'}
              </td>
              <td className={stateClass(r.state)} data-field="state">
                {r.state}
              </td>
              <td className="ops-num">{r.inFlight}</td>
              <td className={`ops-num${r.restarts > 0 ? ' state-bad' : ''}`} data-field="restarts">
                {r.restarts}
              </td>
              <td className="mono" data-field="uptime">
                {uptime(r)}
              </td>
              <td className="mono">{formatDateTime(r.startedAt)}</td>
              <td className="mono">{r.runtimeVersion ?? '—'}</td>
              <td className="ops-num">{r.slots ?? '—'}</td>
              <td className="ops-num">{r.steps ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && list.length === 0 && <p className="empty">No runners: the project has no step files.</p>}
    </>
  )
}

const panel: Panel = { id: 'runners', title: 'Runners', order: 90, Component: RunnersPanel }
export default panel
