// Payload scenario: the request body goes to the runner and comes back as the response body.
export const config = { type: 'api', name: 'EchoTs', method: 'POST', path: '/echo/ts', emits: [], flows: ['bench'] }

export const handler = async (req: { body: unknown }) => ({ status: 200, body: req.body })
