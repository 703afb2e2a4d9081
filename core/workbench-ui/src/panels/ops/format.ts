// Time helpers shared by the operations panels.

/** Every time the admin API gives is Unix milliseconds (dead letters' too, since they were made so);
 *  anything else (missing, NaN) is no time. */
export function toMs(time: number | null | undefined): number | null {
  if (time === null || time === undefined || !Number.isFinite(time)) return null
  return time
}

export function formatDateTime(time: number | null | undefined): string {
  const ms = toMs(time)
  if (ms === null) return '—'
  const date = new Date(ms)
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  )
}

/** "in 3 h 12 min" / "5 s ago": the coarse distance a person reads at a glance. */
export function relative(time: number | null | undefined, now: number = Date.now()): string {
  const ms = toMs(time)
  if (ms === null) return ''
  const delta = ms - now
  const text = span(Math.abs(delta))
  return delta >= 0 ? `in ${text}` : `${text} ago`
}

export function span(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

/** A JSON value on one line, cut for a table cell (the full value is in the side panel). */
export function preview(value: unknown, max = 120): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? 'undefined'
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
