// The built-in panels. Each module default-exports a Panel (src/panel.ts); order in the nav comes
// from Panel.order (10, 20, ... so plugin panels can slot in between), not from this list.
import type { Panel } from '../panel'
import endpoints from './endpoints'
import flows from './flows'
import traces from './traces'
import logs from './logs'
import state from './state'
import streams from './streams'
import queue from './queue'
import cron from './cron'
import runners from './runners'

export const builtinPanels: readonly Panel[] = [flows, endpoints, traces, logs, state, streams, queue, cron, runners]
