const config = {
  type: 'api',
  name: 'GetGreeting',
  description: 'Reads a greeting by the trace id POST /hello answered',
  method: 'GET',
  path: '/greetings/:traceId',
  emits: [],
  flows: ['hello'],
}

const handler = async (req, { state }) => {
  const greeting = await state.get('greetings', req.pathParams.traceId)
  return greeting ? { status: 200, body: greeting } : { status: 404, body: { error: 'no such greeting' } }
}

module.exports = { config, handler }
