// A JavaScript (CommonJS) API step. `motia` needs no npm install: the motia-core Node runner provides it.
const config = {
  type: 'api',
  name: 'SayHello',
  description: 'Accepts a name and hands it to the greeter',
  method: 'POST',
  path: '/hello',
  bodySchema: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 } },
    required: ['name'],
  },
  emits: ['hello.sent'],
  flows: ['hello'],
}

const handler = async (req, { emit, state, logger, traceId }) => {
  await state.set('greetings', traceId, { name: req.body.name, status: 'received', hops: ['javascript'] })
  logger.info('hello received', { name: req.body.name })
  await emit({ topic: 'hello.sent', data: { name: req.body.name } })
  return { status: 202, body: { traceId } }
}

module.exports = { config, handler }
