// Event chain, hop 3 (JavaScript): the last hop, unless a Ruby hop follows.
import { createSocket } from 'node:dgram'

const sink = createSocket('udp4')
sink.unref()

export const config = {
  type: 'event', name: 'ChainHopJs', subscribes: ['bench.chain.c'], emits: ['bench.chain.d'], flows: ['bench-chain'],
}

export const handler = async (input, { emit }) => {
  if (input.ruby) {
    await emit({ topic: 'bench.chain.d', data: input })
    return
  }
  await new Promise((resolve) => sink.send(`c:${input.id}`, Number(process.env.BENCH_SINK_PORT), '127.0.0.1', resolve))
}
