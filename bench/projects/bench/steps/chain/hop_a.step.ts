// Event chain, hop 1 (TypeScript).
export const config = {
  type: 'event', name: 'ChainHopTs', subscribes: ['bench.chain.a'], emits: ['bench.chain.b'], flows: ['bench-chain'],
}

export const handler = async (input: unknown, { emit }: { emit: (e: object) => Promise<void> }) => {
  await emit({ topic: 'bench.chain.b', data: input })
}
