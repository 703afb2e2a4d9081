// Cold start: the endpoint polled until the first 200 OK.
export const config = { type: 'api', name: 'ColdPing', method: 'GET', path: '/ping', emits: [], flows: ['cold'] }

export const handler = async () => ({ status: 200, body: { ok: true } })
