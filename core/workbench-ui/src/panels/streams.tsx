// Streams: the declared streams (GET /__motia/streams/list), a stream's groups (…/groups/{name}) and a
// group's items, live: the panel joins the group over the streams WebSocket at `/` with Motia's
// protocol (ops/streamsocket.ts), so items appear, change and go as handlers write them, no polling.
// Route: #/streams/<stream>/<group>/<item id>.
import React, { useMemo } from 'react'
import { useApi } from '../api'
import { ErrorLine, Json } from '../components/common'
import { useLive } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import { formatDateTime, preview } from './ops/format'
import { useStreamGroup } from './ops/streamsocket'
import type { StreamInfo } from './ops/types'
import './ops/ops.css'

function GroupItems({ stream, group, itemId }: { stream: string; group: string; itemId: string | undefined }): React.JSX.Element {
  const feed = useStreamGroup(stream, group)
  const items = feed.items ?? []
  const selected = items.find((item) => item.id === itemId)
  return (
    <div className="split" data-testid="stream-group" data-stream={stream} data-group={group}>
      <div className="main ops-scroll">
        <div className="toolbar">
          <h2 style={{ margin: 0 }}>
            {stream} / {group}
          </h2>
          <span className={feed.status === 'open' ? 'state-ok' : 'empty'} data-testid="stream-socket" data-status={feed.status}>
            ● {feed.status === 'open' ? 'live' : feed.status}
          </span>
          <span className="empty">
            {feed.items === null ? 'waiting for sync…' : `${items.length} items · ${feed.changes} changes since sync`}
          </span>
        </div>
        <ErrorLine error={feed.error} />
        <table className="table" data-testid="stream-items">
          <thead>
            <tr>
              <th>id</th>
              <th>item</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr
                key={item.id}
                data-item-id={item.id}
                className={`selectable${item.id === itemId ? ' selected' : ''}`}
                onClick={() => (window.location.hash = href('streams', stream, group, item.id))}
              >
                <td className="mono ops-nowrap">{item.id}</td>
                <td className="mono">{preview(item)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {feed.items !== null && items.length === 0 && <p className="empty">No items in this group.</p>}
        {feed.events.length > 0 && (
          <>
            <h3>Custom events</h3>
            <ul className="event-list" data-testid="stream-events">
              {feed.events.map((event, n) => (
                <li key={n}>
                  <span className="mono">{formatDateTime(event.time)}</span> <strong>{event.type}</strong>
                  {event.id && <span className="mono"> → {event.id}</span>} <span className="mono">{preview(event.data)}</span>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      {selected && (
        <aside className="side" data-testid="stream-item">
          <h2>{selected.id}</h2>
          <Json value={selected} />
        </aside>
      )}
    </div>
  )
}

interface StreamViewProps {
  info: StreamInfo
  group: string | undefined
  itemId: string | undefined
}

function StreamView({ info, group, itemId }: StreamViewProps): React.JSX.Element {
  const groups = useApi<{ groups: string[] }>(`/__motia/streams/groups/${encodeURIComponent(info.name)}`)
  useLive('reconnected', groups.reload)
  const names = useMemo(() => {
    const listed = groups.data?.groups ?? []
    return group && !listed.includes(group) ? [...listed, group] : listed
  }, [groups.data, group])
  return (
    <div className="ops-cols">
      <nav className="ops-list" data-testid="stream-groups">
        <button onClick={groups.reload} className="empty">
          ↻ refresh groups
        </button>
        {names.map((name) => (
          <button
            key={name}
            className={name === group ? 'active' : undefined}
            data-group={name}
            onClick={() => (window.location.hash = href('streams', info.name, name))}
          >
            {name}
          </button>
        ))}
        {!groups.loading && names.length === 0 && <p className="empty">No groups yet.</p>}
      </nav>
      <div style={{ flex: 1, minWidth: 0 }}>
        <ErrorLine error={groups.error} />
        {group ? (
          <GroupItems key={`${info.name}\u0000${group}`} stream={info.name} group={group} itemId={itemId} />
        ) : (
          <>
            <p className="empty">
              Pick a group. Declared in <span className="mono">{info.filePath}</span>
              {info.hidden && ' (hidden)'}.
            </p>
            <h3>Item schema</h3>
            <Json value={info.schema} />
          </>
        )}
      </div>
    </div>
  )
}

function StreamsPanel({ route }: PanelProps): React.JSX.Element {
  const list = useApi<{ streams: StreamInfo[] }>('/__motia/streams/list')
  useLive('reconnected', list.reload)
  const [name, group, itemId] = route
  const streams = list.data?.streams ?? []
  const current = streams.find((s) => s.name === name)
  return (
    <>
      <div className="toolbar">
        <h1 style={{ margin: 0 }}>Streams</h1>
        <div className="flow-tabs" role="tablist" data-testid="stream-names">
          {streams.map((s) => (
            <button
              key={s.name}
              role="tab"
              className={s === current ? 'active' : undefined}
              data-stream={s.name}
              onClick={() => (window.location.hash = href('streams', s.name))}
            >
              {s.name}
              {s.hidden ? ' (hidden)' : ''}
            </button>
          ))}
        </div>
      </div>
      <ErrorLine error={list.error} />
      {!list.loading && streams.length === 0 && !list.error && (
        <p className="empty">No streams: declare one in a *.stream.ts / *_stream.py file (docs/streams.md).</p>
      )}
      {current ? (
        <StreamView key={current.name} info={current} group={group} itemId={itemId} />
      ) : (
        streams.length > 0 && <p className="empty">Pick a stream.</p>
      )}
    </>
  )
}

const panel: Panel = { id: 'streams', title: 'Streams', order: 60, Component: StreamsPanel }
export default panel
