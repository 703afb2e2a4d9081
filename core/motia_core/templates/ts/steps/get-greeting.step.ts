import { ApiRouteConfig, Handlers } from 'motia'

export const config: ApiRouteConfig = {
  type: 'api',
  name: 'GetGreeting',
  description: 'Reads a greeting by the trace id POST /hello answered',
  method: 'GET',
  path: '/greetings/:traceId',
  emits: [],
  flows: ['hello'],
}

export const handler: Handlers['GetGreeting'] = async (req, { state }) => {
  const greeting = await state.get('greetings', req.pathParams.traceId)
  return greeting ? { status: 200, body: greeting } : { status: 404, body: { error: 'no such greeting' } }
}
