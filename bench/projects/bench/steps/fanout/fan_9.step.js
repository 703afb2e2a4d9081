// Fan-out subscriber 9 (JavaScript): reports "f:<id>" to the bench's UDP sink.
import { createSocket } from 'node:dgram'

const sink = createSocket('udp4')
sink.unref()

export const config = { type: 'event', name: 'Fan9Js', subscribes: ['bench.fan'], emits: [], flows: ['bench-fanout'] }

export const handler = async (input) => {
  await new Promise((resolve) => sink.send(`f:${input.id}`, Number(process.env.BENCH_SINK_PORT), '127.0.0.1', resolve))
}
