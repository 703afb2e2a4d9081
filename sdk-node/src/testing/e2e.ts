import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'

/**
 * `startMotia({ dir })`: run the real `motia-core serve` (with its real runners) on a project for an
 * end-to-end test, and talk to it over HTTP: the endpoints, and the admin API (`/__motia/*`, open to
 * loopback clients) for state, stream items and traces.
 */

export interface StartMotiaOptions {
  /** The project directory. */
  dir: string
  /** The `motia-core` executable (default: env `MOTIA_CORE_BIN`, else `motia-core` on PATH). */
  command?: string
  /** Arguments before `serve` (e.g. `['-m', 'motia_core']` when `command` is a Python). */
  commandArgs?: string[]
  /** Extra `serve` arguments (e.g. `['--strict']`). */
  args?: string[]
  /** Extra environment for the core (and so its runners). */
  env?: Record<string, string>
  /** Port (default: a free one). */
  port?: number
  /** How long to wait for the core and its runners to be up (default 60 s). */
  readyTimeoutMs?: number
}

export interface CallOptions {
  /** Sent as JSON unless it is a string. */
  body?: unknown
  headers?: Record<string, string>
}

export interface CallResult<TBody = unknown> {
  status: number
  headers: Record<string, string>
  /** Parsed JSON when the response is JSON, else the text. */
  body: TBody
  /** The `x-motia-trace-id` of the request ('' when absent). */
  traceId: string
}

export interface WaitOptions {
  /** Default 30 s (CI machines are slow). */
  timeoutMs?: number
}

/** A trace as `GET /__motia/traces/:id` returns it. */
export interface TraceDoc {
  id: string
  name: string
  status: 'running' | 'completed' | 'failed'
  spans: { step: string; status: 'running' | 'completed' | 'failed'; topic?: string; error?: unknown }[]
  [key: string]: unknown
}

export interface MotiaApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The core's process id. */
  readonly pid: number
  /** The core's output so far (JSON log lines), for failure messages. */
  output(): string
  /** Call an endpoint of the project. */
  call<TBody = unknown>(method: string, path: string, options?: CallOptions): Promise<CallResult<TBody>>
  /** Resolves with the value at `group`/`key` once it exists and `until(value)` holds. */
  waitForState<T = unknown>(group: string, key: string, until?: (value: T) => boolean, options?: WaitOptions): Promise<T>
  /** Resolves with the stream item once it exists and `until(item)` holds. */
  waitForStreamItem<T = Record<string, unknown>>(
    stream: string,
    group: string,
    id: string,
    until?: (item: T) => boolean,
    options?: WaitOptions,
  ): Promise<T>
  /** Resolves with the trace once `until(trace)` holds (default: one span of each step done and nothing running). */
  waitForTrace(traceId: string, until?: (trace: TraceDoc) => boolean, options?: WaitOptions): Promise<TraceDoc>
  /** Resolves with the trace once `step` ran to completion in it (an event handled). */
  waitForStep(traceId: string, step: string, options?: WaitOptions): Promise<TraceDoc>
  /** SIGTERM the core (it stops its runners), wait for it to exit; SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void>
}

/** An error from a wait that timed out or a core that did not start; carries the core's output. */
export class MotiaTestError extends Error {
  override name = 'MotiaTestError'
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => ok(port))
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms))

async function getJson(url: string): Promise<{ status: number; doc: unknown }> {
  const res = await fetch(url)
  const text = await res.text()
  return { status: res.status, doc: text === '' ? null : (JSON.parse(text) as unknown) }
}

/** Start `motia-core serve` on `dir` and wait until it listens. Always `stop()` it (e.g. in `after`). */
export async function startMotia(options: StartMotiaOptions): Promise<MotiaApp> {
  const dir = resolve(options.dir)
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const command = options.command ?? process.env.MOTIA_CORE_BIN ?? 'motia-core'
  const argv = [
    ...(options.commandArgs ?? []),
    'serve',
    '--dir',
    dir,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--log-format',
    'json',
    ...(options.args ?? []),
  ]
  const child: ChildProcess = spawn(command, argv, {
    cwd: dir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let listening = false
  let exited: string | null = null
  let spawnError: Error | null = null
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line)
      if (lines.length > 2000) lines.splice(0, lines.length - 1000)
      if (line.includes('listening on')) listening = true
    })
  }
  const done = new Promise<void>((ok) => {
    child.once('exit', (code, signal) => {
      exited = signal !== null ? `signal ${signal}` : `code ${code}`
      ok()
    })
  })
  child.once('error', (error) => {
    spawnError = error
    exited = `spawn error: ${error.message}`
  })
  // No orphan when the test process exits without calling stop(): nothing can be awaited in an 'exit'
  // listener, but SIGTERM is enough, the core then stops its runners on its own.
  const onExit = (): void => {
    if (exited === null) child.kill('SIGTERM')
  }
  process.once('exit', onExit)

  const output = (): string => lines.slice(-200).join('\n')
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit)
    if (exited !== null || spawnError !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await done
    clearTimeout(timer)
  }

  const readyBy = Date.now() + (options.readyTimeoutMs ?? 60_000)
  while (!listening) {
    if (exited !== null) {
      throw new MotiaTestError(`motia-core (${command} ${argv.join(' ')}) exited before it listened (${exited}):\n${output()}`)
    }
    if (Date.now() > readyBy) {
      await stop()
      throw new MotiaTestError(`motia-core did not listen on ${url} within ${options.readyTimeoutMs ?? 60_000} ms:\n${output()}`)
    }
    await sleep(50)
  }

  /** Poll `probe` until it returns a value (not undefined), or fail naming `what`. */
  const poll = async <T>(what: string, probe: () => Promise<T | undefined>, wait: WaitOptions = {}): Promise<T> => {
    const timeoutMs = wait.timeoutMs ?? 30_000
    const deadline = Date.now() + timeoutMs
    let last = 'nothing yet'
    for (;;) {
      if (exited !== null) throw new MotiaTestError(`motia-core exited (${exited}) while waiting for ${what}:\n${output()}`)
      try {
        const found = await probe()
        if (found !== undefined) return found
      } catch (error) {
        last = error instanceof Error ? error.message : String(error)
      }
      if (Date.now() > deadline) {
        throw new MotiaTestError(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${last}); core output:\n${output()}`)
      }
      await sleep(50)
    }
  }

  const defaultTraceDone = (trace: TraceDoc): boolean => trace.status !== 'running' && trace.spans.length > 0

  const app: MotiaApp = {
    url,
    pid: child.pid ?? 0,
    output,
    async call<TBody>(method: string, path: string, callOptions: CallOptions = {}): Promise<CallResult<TBody>> {
      const headers: Record<string, string> = { ...callOptions.headers }
      let body: string | undefined
      if (callOptions.body !== undefined) {
        body = typeof callOptions.body === 'string' ? callOptions.body : JSON.stringify(callOptions.body)
        if (typeof callOptions.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['content-type'] = 'application/json'
        }
      }
      const res = await fetch(url + path, { method: method.toUpperCase(), headers, body })
      const text = await res.text()
      const isJson = (res.headers.get('content-type') ?? '').includes('json') && text !== ''
      const responseHeaders: Record<string, string> = {}
      res.headers.forEach((value, name) => {
        responseHeaders[name] = value
      })
      return {
        status: res.status,
        headers: responseHeaders,
        body: (isJson ? JSON.parse(text) : text) as TBody,
        traceId: res.headers.get('x-motia-trace-id') ?? '',
      }
    },
    waitForState<T>(group: string, key: string, until?: (value: T) => boolean, wait?: WaitOptions): Promise<T> {
      return poll(`state ${group}/${key}`, async () => {
        const { status, doc } = await getJson(`${url}/__motia/state/${encodeURIComponent(group)}`)
        if (status !== 200) throw new Error(`GET /__motia/state/${group} answered ${status}`)
        const items = (doc as { items: { key: string; value: T }[] }).items
        const item = items.find((i) => i.key === key)
        return item !== undefined && (until === undefined || until(item.value)) ? item.value : undefined
      }, wait)
    },
    waitForStreamItem<T>(stream: string, group: string, id: string, until?: (item: T) => boolean, wait?: WaitOptions): Promise<T> {
      const path = `/__motia/streams/item/${[stream, group, id].map(encodeURIComponent).join('/')}`
      return poll(`stream item ${stream}/${group}/${id}`, async () => {
        const { status, doc } = await getJson(url + path)
        if (status === 404) return undefined
        if (status !== 200) throw new Error(`GET ${path} answered ${status}`)
        const item = doc as T | null // the item as stored, or null
        return item !== null && (until === undefined || until(item)) ? item : undefined
      }, wait)
    },
    waitForTrace(traceId: string, until: (trace: TraceDoc) => boolean = defaultTraceDone, wait?: WaitOptions): Promise<TraceDoc> {
      return poll(`trace ${traceId}`, async () => {
        const { status, doc } = await getJson(`${url}/__motia/traces/${encodeURIComponent(traceId)}`)
        if (status === 404) return undefined
        if (status !== 200) throw new Error(`GET /__motia/traces/${traceId} answered ${status}`)
        return until(doc as TraceDoc) ? (doc as TraceDoc) : undefined
      }, wait)
    },
    waitForStep(traceId: string, step: string, wait?: WaitOptions): Promise<TraceDoc> {
      return app.waitForTrace(traceId, (t) => t.spans.some((s) => s.step === step && s.status === 'completed'), wait)
    },
    stop,
  }
  return app
}
