import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { debug } from '../diagnostics'

/**
 * A load (the first one, a dev reload) grows V8's young generation to its maximum (2 x 16 MB). V8
 * gives the pages back only at a scavenge that finds the allocation rate low, and an idle runner
 * allocates so little (pings) that its next scavenge came 25 s or more after the load: the idle runner
 * held ~6 MB more until then, and the bench's idle snapshot caught either state (docs/performance.md,
 * "Idle memory"). One minor GC once the load has gone quiet gives them back at once. A full GC does
 * not: V8 shrinks the young generation after a scavenge only.
 */

/**
 * After the load: V8 judges the allocation rate over the last 5 s, so a GC sooner still sees the
 * load's burst and keeps the pages (measured: a GC 2 s after the load shrank nothing).
 */
export const GC_AFTER_LOAD_MS = 8_000

type Collect = (options?: { type: 'minor' | 'major' }) => void

let timer: NodeJS.Timeout | null = null
/** undefined: not looked up yet; null: this Node offers no way to run one (never fatal). */
let collect: Collect | null | undefined

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      // a context created after the flag has `gc`; the steps' own global scope never gets one
      setFlagsFromString('--expose-gc')
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null')
      collect = typeof gc === 'function' ? (gc as Collect) : null
    } catch {
      collect = null
    }
  }
  return collect
}

/** One minor GC GC_AFTER_LOAD_MS after the last load; loads in a row push it back. */
export function collectAfterLoad(): void {
  if (timer !== null) {
    timer.refresh()
    return
  }
  timer = setTimeout(() => {
    timer = null
    collectNow()
  }, GC_AFTER_LOAD_MS)
  timer.unref() // never what keeps the runner alive
}

/**
 * A young generation this small has nothing to give back (V8 starts it at 1 MB), and a scavenge of
 * one may even grow it: then no GC.
 */
export const SMALL_YOUNG_MB = 2

function youngMb(): number {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  return young === undefined ? Number.NaN : young.space_size / 2 ** 20
}

function collectNow(): void {
  const gc = collector()
  if (gc === null) return
  const before = youngMb()
  if (before <= SMALL_YOUNG_MB) {
    debug(() => `no GC after load: young generation ${before.toFixed(1)} MB, nothing to give back`)
    return
  }
  const started = performance.now()
  gc({ type: 'minor' })
  debug(
    () =>
      `minor GC after load in ${(performance.now() - started).toFixed(1)} ms: young generation ${before.toFixed(1)} -> ${youngMb().toFixed(1)} MB`,
  )
}
