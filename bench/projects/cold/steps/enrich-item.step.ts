export const config = {
  type: 'event', name: 'ColdEnrichItem', subscribes: ['cold.item.created'], emits: ['cold.item.enriched'], flows: ['cold'],
}

export const handler = async (input: { id: string }, { emit, state }: any) => {
  const item = await state.get('items', input.id)
  await state.set('items', input.id, { ...item, enriched: true })
  await emit({ topic: 'cold.item.enriched', data: input })
}
