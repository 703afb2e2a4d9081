const config = {
  type: 'event',
  name: 'NotifyUser',
  description: 'Marks the message delivered (JavaScript, CommonJS)',
  subscribes: ['message.processed'],
  emits: [],
  flows: ['messaging'],
}

const handler = async (input, { state, logger, traceId }) => {
  const message = await state.get('messages', traceId)
  message.hops.push('javascript')
  message.status = 'delivered'
  await state.set('messages', traceId, message)
  logger.info('Message delivered', { words: input.words })
}

module.exports = { config, handler }
