// Streams scenario: the stream the bench's WebSocket clients join (bench/benchlib/streamload.py).
// A JSON Schema, so the file needs no imports; motia-core does not enforce it (as in Motia).
export const config = {
  name: 'ticks',
  schema: {
    type: 'object',
    properties: { seq: { type: 'integer' }, sentAt: { type: 'integer' } },
    required: ['seq', 'sentAt'],
  },
  baseConfig: { storageType: 'default' },
}
