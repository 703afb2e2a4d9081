export const config = { type: 'api', name: 'ColdListItems', method: 'GET', path: '/items', emits: [], flows: ['cold'] }

export const handler = async (_req, { state }) => ({ status: 200, body: { items: await state.getGroup('items') } })
