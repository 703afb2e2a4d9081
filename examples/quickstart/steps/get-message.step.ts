import { ApiRouteConfig, Handlers } from 'motia'

export const config: ApiRouteConfig = {
  type: 'api',
  name: 'GetMessage',
  method: 'GET',
  path: '/messages/:traceId',
  emits: [],
  flows: ['messaging'],
}

export const handler: Handlers['GetMessage'] = async (req, { state }) => {
  const message = await state.get('messages', req.pathParams.traceId)
  return message ? { status: 200, body: message } : { status: 404, body: { error: 'not found' } }
}
