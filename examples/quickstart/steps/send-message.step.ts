import { ApiRouteConfig, Handlers } from 'motia'
import { z } from 'zod'

export const config: ApiRouteConfig = {
  type: 'api',
  name: 'SendMessage',
  description: 'Accepts a message, stores it, and hands it to the pipeline',
  method: 'POST',
  path: '/messages',
  bodySchema: z.object({ text: z.string().min(1) }),
  emits: ['message.sent'],
  flows: ['messaging'],
}

export const handler: Handlers['SendMessage'] = async (req, { emit, state, logger, traceId }) => {
  await state.set('messages', traceId, { text: req.body.text, status: 'received', hops: ['typescript'] })
  logger.info('Message received', { text: req.body.text })
  await emit({ topic: 'message.sent', data: { text: req.body.text } })
  return { status: 202, body: { traceId, status: 'received' } }
}
