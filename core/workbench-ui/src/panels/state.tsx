// State: groups (GET /__motia/state), a group's keys and JSON values (GET /__motia/state/{group}), and
// changing them by hand: a JSON editor validated as you type (PUT /__motia/state/{group}/{key}), a new
// key, and delete with a confirm (DELETE). Route: #/state/<group>/<key>. Writes made anywhere (handlers,
// another browser) arrive as live "state" messages: applied in place, or a refetch when they say
// less than the value (ops/statelive.ts).
import React, { useCallback, useEffect, useState } from 'react'
import { sendJson, useApi } from '../api'
import { ErrorLine, Json } from '../components/common'
import { type LiveMessage, useLive } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import { ConfirmButton, JsonEditor, parseJson } from './ops/controls'
import { applyChanges, needsRefetch, type StateMessage } from './ops/statelive'
import { errorText, preview } from './ops/format'
import type { StateItem } from './ops/types'
import './ops/ops.css'

function statePath(group: string, key?: string): string {
  const base = `/__motia/state/${encodeURIComponent(group)}`
  return key === undefined ? base : `${base}/${encodeURIComponent(key)}`
}

/** A new key, in this group or any other (a group exists once it holds a key). */
function NewKey({ group, onDone }: { group: string; onDone: (group: string, key: string) => void }): React.JSX.Element {
  const [groupId, setGroupId] = useState(group)
  const [key, setKey] = useState('')
  const [text, setText] = useState('{}')
  const [error, setError] = useState<string | undefined>()
  const parsed = parseJson(text)
  const target = { group: groupId.trim(), key: key.trim() }
  const create = (e: React.FormEvent): void => {
    e.preventDefault()
    if (!parsed.ok || !target.group || !target.key) return
    sendJson('PUT', statePath(target.group, target.key), parsed.value).then(
      () => {
        setError(undefined)
        setKey('')
        onDone(target.group, target.key)
      },
      (err: unknown) => setError(errorText(err)),
    )
  }
  return (
    <form onSubmit={create} className="side" style={{ width: 'auto', marginTop: 12 }} data-testid="state-new">
      <h3 style={{ marginTop: 0 }}>New key</h3>
      <div className="toolbar">
        <input
          aria-label="Group"
          placeholder="group"
          value={groupId}
          onChange={(e) => setGroupId(e.target.value)}
          data-testid="state-new-group"
        />
        <input
          aria-label="New key"
          placeholder="key"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          data-testid="state-new-key"
        />
        <button type="submit" className="primary" disabled={!parsed.ok || !target.group || !target.key}>
          Create
        </button>
      </div>
      <textarea
        aria-label="New value"
        rows={3}
        style={{ width: '100%' }}
        value={text}
        onChange={(e) => setText(e.target.value)}
        aria-invalid={!parsed.ok}
        data-testid="state-new-value"
      />
      {!parsed.ok && <p className="error">{parsed.error}</p>}
      <ErrorLine error={error} />
    </form>
  )
}

function created(group: string, key: string): void {
  window.location.hash = href('state', group, key)
}

interface GroupProps {
  group: string
  selectedKey: string | undefined
  onCreated: () => void // a key was created (maybe in a new group): the group list refetches
}

function GroupView({ group, selectedKey, onCreated }: GroupProps): React.JSX.Element {
  const items = useApi<{ items: StateItem[] }>(statePath(group))
  useLive('reconnected', items.reload)
  useLive('dropped', items.reload) // the socket lost messages (a slow tab): some changes may be among them
  const [error, setError] = useState<string | undefined>()
  // what the last fetch said, with every live change to this group since applied in place (the
  // overlay holds for the fetch it was built on; the next fetch starts over from the store)
  const fetched = items.data
  const [overlay, setOverlay] = useState<{ base: typeof fetched; items: StateItem[] }>()
  const list = overlay !== undefined && overlay.base === fetched ? overlay.items : fetched?.items ?? []
  useLive('state', (message: LiveMessage) => {
    const doc = message as unknown as StateMessage
    const mine = (doc.changes ?? []).filter((change) => change.group === group)
    if (doc.resync || needsRefetch(mine)) items.reload()
    else if (mine.length > 0) {
      setOverlay((prev) => ({
        base: fetched,
        items: applyChanges(prev !== undefined && prev.base === fetched ? prev.items : fetched?.items ?? [], mine),
      }))
    }
  })
  const selected = list.find((item) => item.key === selectedKey)
  const open = (key?: string): void => {
    window.location.hash = key === undefined ? href('state', group) : href('state', group, key)
  }
  const save = useCallback(
    (key: string, value: unknown) =>
      sendJson('PUT', statePath(group, key), value).then(
        () => {
          setError(undefined)
          items.reload()
        },
        (err: unknown) => {
          setError(errorText(err))
          throw err
        },
      ),
    [group, items],
  )
  const remove = (key: string): Promise<void> =>
    sendJson('DELETE', statePath(group, key)).then(
      () => {
        setError(undefined)
        open()
        items.reload()
      },
      (err: unknown) => setError(errorText(err)),
    )
  return (
    <div className="split" data-testid="state-group" data-group={group}>
      <div className="main ops-scroll">
        <div className="toolbar">
          <h2 style={{ margin: 0 }}>{group}</h2>
          <span className="empty">{list.length} keys</span>
          <button onClick={items.reload}>Refresh</button>
        </div>
        <ErrorLine error={items.error ?? error} />
        <table className="table" data-testid="state-items">
          <thead>
            <tr>
              <th>key</th>
              <th>value</th>
            </tr>
          </thead>
          <tbody>
            {list.map((item) => (
              <tr
                key={item.key}
                className={`selectable${item.key === selectedKey ? ' selected' : ''}`}
                data-key={item.key}
                onClick={() => open(item.key)}
              >
                <td className="mono">{item.key}</td>
                <td className="mono">{preview(item.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!items.loading && list.length === 0 && !items.error && <p className="empty">This group is empty.</p>}
        <NewKey
          group={group}
          onDone={(target, key) => {
            onCreated()
            if (target === group) items.reload()
            created(target, key)
          }}
        />
      </div>
      {selected && (
        <aside className="side" data-testid="state-item" data-key={selected.key}>
          <h2>{selected.key}</h2>
          <p className="empty">
            group <span className="mono">{group}</span>
          </p>
          <JsonEditor initial={selected.value} onSave={(value) => save(selected.key, value)} testId="state-editor" />
          <h3>Stored value</h3>
          <Json value={selected.value} />
          <div className="toolbar" style={{ marginTop: 10 }}>
            <ConfirmButton
              label="Delete"
              question={`Delete ${group} / ${selected.key}?`}
              danger
              onConfirm={() => remove(selected.key)}
              testId="state-delete"
            />
          </div>
        </aside>
      )}
      {selectedKey !== undefined && !selected && !items.loading && (
        <aside className="side">
          <p className="empty">No key “{selectedKey}” in {group} (deleted?).</p>
        </aside>
      )}
    </div>
  )
}

function StatePanel({ route }: PanelProps): React.JSX.Element {
  const groups = useApi<{ groups: string[] }>('/__motia/state')
  useLive('reconnected', groups.reload)
  useLive('dropped', groups.reload)
  const [group, key] = route
  // a write in a group not listed yet adds it; a delete or clear may have emptied one (groups exist
  // while they hold a key)
  useLive('state', (message: LiveMessage) => {
    const doc = message as unknown as StateMessage
    const listed = groups.data?.groups ?? []
    const stale = (doc.changes ?? []).some((change) => change.op !== 'set' || !listed.includes(change.group))
    if (doc.resync || stale) groups.reload()
  })
  // a group that appeared since the listing (a handler wrote, a key was created here) gets listed:
  // one refetch per group opened, never a loop when the group is gone
  const { reload: reloadGroups } = groups
  useEffect(() => {
    if (group) reloadGroups()
  }, [group, reloadGroups])
  const names = groups.data?.groups ?? []
  return (
    <>
      <div className="toolbar">
        <h1 style={{ margin: 0 }}>State</h1>
        <button onClick={groups.reload}>Refresh groups</button>
      </div>
      <ErrorLine error={groups.error} />
      <div className="ops-cols">
        <nav className="ops-list" data-testid="state-groups">
          {names.map((name) => (
            <button
              key={name}
              className={name === group ? 'active' : undefined}
              data-group={name}
              onClick={() => (window.location.hash = href('state', name))}
            >
              {name}
            </button>
          ))}
          {!groups.loading && names.length === 0 && <p className="empty">No state yet.</p>}
        </nav>
        <div style={{ flex: 1, minWidth: 0 }}>
          {group ? (
            <GroupView key={group} group={group} selectedKey={key} onCreated={groups.reload} />
          ) : (
            <>
              <p className="empty">Pick a group, or create a key in a new one.</p>
              <NewKey
                group=""
                onDone={(target, newKey) => {
                  groups.reload()
                  created(target, newKey)
                }}
              />
            </>
          )}
        </div>
      </div>
    </>
  )
}

const panel: Panel = { id: 'state', title: 'State', order: 50, Component: StatePanel }
export default panel
