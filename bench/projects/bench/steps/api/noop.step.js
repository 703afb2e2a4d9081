// API no-op in JavaScript (ESM: the project's package.json says "type": "module").
export const config = { type: 'api', name: 'NoopJs', method: 'GET', path: '/noop/js', emits: [], flows: ['bench'] }

export const handler = async () => ({ status: 200, body: { ok: true } })
