// The live "state" message (core/motia_core/http/live_state.py): the changes a window of writes made,
// in the order of each key's last change, so applying them in order leaves what the store holds.
import type { StateItem } from './types'

export interface StateChange {
  group: string
  key?: string
  /** set | delete | clear | changed (too many changes to list: refetch the group) */
  op: string
  /** a set's value, when small enough to ride along (absent: refetch the group) */
  value?: unknown
}

export interface StateMessage {
  changes?: StateChange[]
  /** changes in too many groups to list: refetch everything */
  resync?: boolean
}

/** Whether `changes` (of one group) need a refetch: they do not say what the group holds now. */
export function needsRefetch(changes: StateChange[]): boolean {
  return changes.some((c) => c.op === 'changed' || (c.op === 'set' && !('value' in c)) || !['set', 'delete', 'clear', 'changed'].includes(c.op))
}

/** The group's items after `changes` (of that group, each fully described: see needsRefetch). A new
 *  key goes last, as the store orders keys by first set. */
export function applyChanges(items: StateItem[], changes: StateChange[]): StateItem[] {
  let next = items
  for (const change of changes) {
    if (change.op === 'clear') {
      next = []
    } else if (change.op === 'delete') {
      next = next.filter((item) => item.key !== change.key)
    } else if (change.op === 'set' && change.key !== undefined) {
      const key = change.key
      const at = next.findIndex((item) => item.key === key)
      const item = { key, value: change.value }
      next = at < 0 ? [...next, item] : next.map((old, i) => (i === at ? item : old))
    }
  }
  return next
}
