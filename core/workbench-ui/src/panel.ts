// The panel interface and registry. Built-in panels (src/panels/index.ts) and plugin bundles
// (window.motiaWorkbench.registerPanel, docs/workbench.md) go through the same registerPanel(), so a
// plugin panel is a first-class citizen: nav entry, hash route, same props.
import { useSyncExternalStore, type ComponentType } from 'react'

export interface PanelProps {
  /** Route segments after `#/<panel id>/`, decoded: `#/traces/abc` gives ["abc"]. */
  route: string[]
}

export interface Panel {
  /** Lower-case slug, the hash route: `#/<id>`. */
  id: string
  title: string
  /** Nav position, ascending; built-ins use 10, 20, ... so plugins can slot in between. */
  order: number
  Component: ComponentType<PanelProps>
}

const ID_PATTERN = /^[a-z][a-z0-9-]{0,39}$/
const panels = new Map<string, Panel>()
const listeners = new Set<() => void>()
let snapshot: readonly Panel[] = []

/** Add (or replace, same id) a panel. Throws a TypeError naming the bad field, since a plugin author
 *  sees it in the console and nowhere else. */
export function registerPanel(panel: Panel): void {
  const candidate = panel as Partial<Panel> | null
  if (candidate === null || typeof candidate !== 'object') {
    throw new TypeError('registerPanel: expected an object {id, title, order, Component}')
  }
  if (typeof candidate.id !== 'string' || !ID_PATTERN.test(candidate.id)) {
    throw new TypeError(`registerPanel: id must match ${String(ID_PATTERN)} (got ${JSON.stringify(candidate.id)})`)
  }
  if (typeof candidate.title !== 'string' || candidate.title.trim() === '') {
    throw new TypeError(`registerPanel(${candidate.id}): title must be a non-empty string`)
  }
  if (typeof candidate.order !== 'number' || !Number.isFinite(candidate.order)) {
    throw new TypeError(`registerPanel(${candidate.id}): order must be a finite number`)
  }
  if (typeof candidate.Component !== 'function' && (typeof candidate.Component !== 'object' || candidate.Component === null)) {
    throw new TypeError(`registerPanel(${candidate.id}): Component must be a React component`)
  }
  panels.set(panel.id, panel)
  snapshot = [...panels.values()].sort((a, b) => a.order - b.order || a.title.localeCompare(b.title))
  for (const listener of listeners) listener()
}

export function listPanels(): readonly Panel[] {
  return snapshot
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** The registered panels, re-rendering when a plugin registers one later. */
export function usePanels(): readonly Panel[] {
  return useSyncExternalStore(subscribe, listPanels)
}

/** A hash link to a panel: href('traces', id) -> '#/traces/<id>'. */
export function href(panel: string, ...parts: string[]): string {
  return '#/' + [panel, ...parts].map(encodeURIComponent).join('/')
}
