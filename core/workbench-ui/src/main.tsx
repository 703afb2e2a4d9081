// The Workbench shell: nav of registered panels, hash routing (#/<panel>/<rest...>), the login form
// when the admin API answers 401, and window.motiaWorkbench for plugin bundles (docs/workbench.md).
import React, { useEffect, useState } from 'react'
import * as ReactDOM from 'react-dom'
import { createRoot } from 'react-dom/client'
import '@xyflow/react/dist/style.css'
import './styles.css'
import { getJson, onUnauthorized, sendJson, useApi } from './api'
import { subscribe, useLiveStatus } from './live'
import { href, registerPanel, usePanels, type Panel } from './panel'
import { builtinPanels } from './panels'

export interface WorkbenchGlobal {
  registerPanel: (panel: Panel) => void
  React: typeof React
  ReactDOM: typeof ReactDOM
  api: { getJson: typeof getJson; sendJson: typeof sendJson }
  live: { subscribe: typeof subscribe }
  href: typeof href
}

declare global {
  interface Window {
    motiaWorkbench: WorkbenchGlobal
  }
}

for (const panel of builtinPanels) registerPanel(panel)

// Set before any plugin <script> runs: the server puts plugin scripts after app.js in index.html.
window.motiaWorkbench = { registerPanel, React, ReactDOM, api: { getJson, sendJson }, live: { subscribe }, href }

function parseHash(hash: string): string[] {
  const text = hash.replace(/^#\/?/, '')
  if (!text) return []
  return text.split('/').map((part) => {
    try {
      return decodeURIComponent(part)
    } catch {
      return part
    }
  })
}

function useRoute(): string[] {
  const [route, setRoute] = useState(() => parseHash(window.location.hash))
  useEffect(() => {
    const update = (): void => setRoute(parseHash(window.location.hash))
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return route
}

function LoginForm({ onDone }: { onDone: () => void }): React.JSX.Element {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | undefined>()
  const submit = (event: React.FormEvent): void => {
    event.preventDefault()
    sendJson('POST', '/__motia/login', { token }).then(onDone, (err: unknown) =>
      setError(err instanceof Error ? err.message : String(err)),
    )
  }
  return (
    <form className="login" onSubmit={submit}>
      <h2>Admin token required</h2>
      <p>This core runs with an admin token. Enter it to open the Workbench (kept as an HttpOnly session cookie).</p>
      <input type="password" aria-label="Admin token" value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
      <button type="submit">Log in</button>
      {error && <p className="error">{error}</p>}
    </form>
  )
}

interface CoreInfo {
  name?: string
  version?: string
  project?: string
}

function Shell(): React.JSX.Element {
  const panels = usePanels()
  const route = useRoute()
  const live = useLiveStatus()
  const [needLogin, setNeedLogin] = useState(false)
  const info = useApi<CoreInfo>('/__motia')
  useEffect(() => onUnauthorized(() => setNeedLogin(true)), [])
  const [panelId, ...rest] = route
  const current = panels.find((panel) => panel.id === panelId) ?? (panelId === undefined ? panels[0] : undefined)
  useEffect(() => {
    document.title = current ? `${current.title} · motia Workbench` : 'motia Workbench'
  }, [current])
  if (needLogin) return <LoginForm onDone={() => window.location.reload()} />
  return (
    <div className="shell">
      <nav className="nav">
        <div className="brand">
          motia <span>Workbench</span>
        </div>
        <ul>
          {panels.map((panel) => (
            <li key={panel.id}>
              <a href={href(panel.id)} className={panel === current ? 'active' : undefined} data-panel={panel.id}>
                {panel.title}
              </a>
            </li>
          ))}
        </ul>
        <div className={`live live-${live}`} title="live updates (/__motia/live)">
          ● {live === 'open' ? 'live' : live}
        </div>
        {info.data?.version && <div className="version">core {info.data.version}</div>}
      </nav>
      <main className="panel" data-current-panel={current?.id ?? ''}>
        {current ? (
          <current.Component key={current.id} route={panelId === current.id ? rest : []} />
        ) : (
          <p className="empty">
            No panel named “{panelId}”. Pick one on the left{panels.length === 0 ? ' (none registered yet)' : ''}.
          </p>
        )}
      </main>
    </div>
  )
}

const root = document.getElementById('root')
if (root) createRoot(root).render(<Shell />)
