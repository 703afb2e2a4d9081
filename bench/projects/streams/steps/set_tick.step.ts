// Streams scenario, TypeScript writer: one ctx.streams set per request, pushed to every client of the group.
// The body is {groupId, id, seq, sentAt}; sentAt is the driver's clock (µs) just before it sent the request.
export const config = { type: 'api', name: 'SetTickTs', method: 'POST', path: '/ticks/ts', emits: [], flows: ['bench'] }

type Tick = { groupId: string; id: string; seq: number; sentAt: number }
type Streams = { ticks: { set: (groupId: string, id: string, data: object) => Promise<unknown> } }

export const handler = async (req: { body: Tick }, { streams }: { streams: Streams }) => {
  const { groupId, id, seq, sentAt } = req.body
  await streams.ticks.set(groupId, id, { seq, sentAt })
  return { status: 200, body: { ok: true } }
}
