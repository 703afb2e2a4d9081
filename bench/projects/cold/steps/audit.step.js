export const config = { type: 'event', name: 'ColdAudit', subscribes: ['cold.item.enriched'], emits: [], flows: ['cold'] }

export const handler = async (input, { logger }) => {
  logger.info('audited', { id: input.id })
}
