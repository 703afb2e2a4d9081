import { ApiRouteConfig, Handlers } from 'motia'
import { z } from 'zod'

// `motia` and `zod` need no npm install: the motia-core Node runner provides both.
export const config: ApiRouteConfig = {
  type: 'api',
  name: 'SayHello',
  description: 'Accepts a name and hands it to the greeter',
  method: 'POST',
  path: '/hello',
  bodySchema: z.object({ name: z.string().min(1) }),
  emits: ['hello.sent'],
  flows: ['hello'],
}

export const handler: Handlers['SayHello'] = async (req, { emit, state, logger, traceId }) => {
  await state.set('greetings', traceId, { name: req.body.name, status: 'received', hops: ['typescript'] })
  logger.info('hello received', { name: req.body.name })
  await emit({ topic: 'hello.sent', data: { name: req.body.name } })
  return { status: 202, body: { traceId } }
}
