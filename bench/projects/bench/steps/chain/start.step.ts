// Event chain, entry: API (TypeScript) -> bench.chain.a -> TS -> Python -> JS (-> Ruby).
// The body is {id, ruby}; the last hop reports "c:<id>" to the bench's UDP sink (BENCH_SINK_PORT).
export const config = {
  type: 'api', name: 'ChainStart', method: 'POST', path: '/chain', emits: ['bench.chain.a'], flows: ['bench-chain'],
}

export const handler = async (req: { body: Record<string, unknown> }, { emit }: { emit: (e: object) => Promise<void> }) => {
  await emit({ topic: 'bench.chain.a', data: req.body })
  return { status: 202, body: { ok: true } }
}
