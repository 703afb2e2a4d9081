export const config = { type: 'event', name: 'ColdNotify', subscribes: ['cold.item.enriched'], emits: [], flows: ['cold'] }

export const handler = async (input, { state }) => {
  await state.set('notified', input.id, true)
}
