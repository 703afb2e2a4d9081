// API step that logs one line per request (info, one field): what recording a log line costs, with
// `serve` recording (the default) against `serve --no-record` (bench: the recording pair).
export const config = { type: 'api', name: 'LogTs', method: 'GET', path: '/log/ts', emits: [], flows: ['bench'] }

export const handler = async (_req: unknown, { logger }: { logger: { info: (m: string, f?: object) => void } }) => {
  logger.info('bench request handled', { lang: 'ts' })
  return { status: 200, body: { ok: true } }
}
