import { EventConfig, Handlers } from 'motia'
import { z } from 'zod'

export const config: EventConfig = {
  type: 'event',
  name: 'Greet',
  description: 'Writes the greeting',
  subscribes: ['hello.sent'],
  emits: [],
  input: z.object({ name: z.string() }),
  flows: ['hello'],
}

export const handler: Handlers['Greet'] = async (input, { state, logger, traceId }) => {
  const greeting = await state.get<{ hops: string[] }>('greetings', traceId)
  const hops = [...(greeting?.hops ?? []), 'typescript']
  await state.set('greetings', traceId, { ...greeting, hops, status: 'greeted', message: `Hello, ${input.name}!` })
  logger.info('greeted', { name: input.name })
}
