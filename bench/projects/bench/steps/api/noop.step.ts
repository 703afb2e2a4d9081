// API no-op in TypeScript: the per-request cost of the framework and nothing else.
export const config = { type: 'api', name: 'NoopTs', method: 'GET', path: '/noop/ts', emits: [], flows: ['bench'] }

export const handler = async () => ({ status: 200, body: { ok: true } })
