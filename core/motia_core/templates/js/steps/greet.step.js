const config = {
  type: 'event',
  name: 'Greet',
  description: 'Writes the greeting',
  subscribes: ['hello.sent'],
  emits: [],
  input: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  flows: ['hello'],
}

const handler = async (input, { state, logger, traceId }) => {
  const greeting = (await state.get('greetings', traceId)) ?? { hops: [] }
  greeting.hops.push('javascript')
  await state.set('greetings', traceId, { ...greeting, status: 'greeted', message: `Hello, ${input.name}!` })
  logger.info('greeted', { name: input.name })
}

module.exports = { config, handler }
