// Fan-out, entry: one event, ten subscribers (4 TypeScript, 3 Python, 3 JavaScript).
export const config = {
  type: 'api', name: 'FanoutStart', method: 'POST', path: '/fanout', emits: ['bench.fan'], flows: ['bench-fanout'],
}

export const handler = async (req: { body: Record<string, unknown> }, { emit }: { emit: (e: object) => Promise<void> }) => {
  await emit({ topic: 'bench.fan', data: req.body })
  return { status: 202, body: { ok: true } }
}
