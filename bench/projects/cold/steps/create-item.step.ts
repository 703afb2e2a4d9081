export const config = {
  type: 'api', name: 'ColdCreateItem', method: 'POST', path: '/items', emits: ['cold.item.created'], flows: ['cold'],
}

export const handler = async (req: { body: { name?: string } }, { emit, state, traceId }: any) => {
  await state.set('items', traceId, { name: req.body.name ?? 'item' })
  await emit({ topic: 'cold.item.created', data: { id: traceId } })
  return { status: 201, body: { id: traceId } }
}
