// Cron: each cron step with its schedule, next three runs and last outcome (GET /__motia/cron), and
// "trigger now" (POST /__motia/cron/{step}/trigger -> {traceId}: a run in a new trace, linked). A tick
// has no live message of its own, so the list is refetched every few seconds while the panel is open,
// and at once when a live "trace" message names a run the list shows.
import React, { useEffect, useState } from 'react'
import { sendJson, useApi } from '../api'
import { ErrorLine } from '../components/common'
import { useLive, type LiveMessage } from '../live'
import { href, type Panel } from '../panel'
import { errorText, formatDateTime, relative } from './ops/format'
import type { CronJob } from './ops/types'
import './ops/ops.css'

const REFRESH_MS = 5000

function statusClass(status: string): string {
  return status === 'completed' ? 'status-completed' : status === 'failed' ? 'status-failed' : 'status-running'
}

function CronPanel(): React.JSX.Element {
  const jobs = useApi<{ jobs: CronJob[] }>('/__motia/cron')
  const [triggered, setTriggered] = useState<Record<string, string>>({}) // step -> trace id of our trigger
  const [error, setError] = useState<string | undefined>()
  const [now, setNow] = useState(Date.now())
  const { reload } = jobs
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now())
      reload()
    }, REFRESH_MS)
    return () => clearInterval(timer)
  }, [reload])
  const list = jobs.data?.jobs ?? []
  useLive('trace', (message: LiveMessage) => {
    const trace = message['trace'] as { id?: string } | undefined
    const id = trace?.id
    if (id && (Object.values(triggered).includes(id) || list.some((j) => j.last?.traceId === id))) reload()
  })
  useLive('reconnected', reload)
  const trigger = (job: CronJob): void => {
    sendJson<{ traceId: string }>('POST', `/__motia/cron/${encodeURIComponent(job.step)}/trigger`, {}).then(
      (answer) => {
        setError(undefined)
        setTriggered((t) => ({ ...t, [job.step]: answer.traceId }))
        reload()
      },
      (err: unknown) => setError(errorText(err)),
    )
  }
  return (
    <>
      <div className="toolbar">
        <h1 style={{ margin: 0 }}>Cron</h1>
        <button onClick={reload}>Refresh</button>
      </div>
      <ErrorLine error={jobs.error ?? error} />
      <table className="table" data-testid="cron-jobs">
        <thead>
          <tr>
            <th>step</th>
            <th>schedule</th>
            <th>next runs</th>
            <th>last run</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {list.map((job) => (
            <tr key={job.step} data-step={job.step}>
              <td>{job.step}</td>
              <td className="mono">{job.cron}</td>
              <td className="mono">
                {job.nextRuns.map((t, n) => (
                  <div key={n} title={relative(t, now)}>
                    {formatDateTime(t)} <span className="empty">({relative(t, now)})</span>
                  </div>
                ))}
              </td>
              <td data-testid="cron-last" data-status={job.last?.status ?? ''}>
                {job.last ? (
                  <>
                    <span className={statusClass(job.last.status)}>{job.last.status}</span>{' '}
                    <span className="mono">{formatDateTime(job.last.time)}</span>
                    <div className="mono">
                      <a href={href('traces', job.last.traceId)}>{job.last.traceId}</a>
                    </div>
                  </>
                ) : (
                  <span className="empty">not run since the core started</span>
                )}
              </td>
              <td>
                <button className="primary" onClick={() => trigger(job)} data-testid="cron-trigger">
                  Trigger now
                </button>
                {triggered[job.step] && (
                  <div className="mono" data-testid="cron-triggered">
                    → <a href={href('traces', triggered[job.step] ?? '')}>{triggered[job.step]}</a>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {jobs.data && list.length === 0 && <p className="empty">No cron steps in this project.</p>}
    </>
  )
}

const panel: Panel = { id: 'cron', title: 'Cron', order: 80, Component: CronPanel }
export default panel
