export const config = { type: 'api', name: 'ColdGetItem', method: 'GET', path: '/items/:id', emits: [], flows: ['cold'] }

export const handler = async (req: { pathParams: { id: string } }, { state }: any) => {
  const item = await state.get('items', req.pathParams.id)
  return item ? { status: 200, body: item } : { status: 404, body: { error: 'not found' } }
}
