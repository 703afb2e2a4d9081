// The BullMQ anchor of `bench/run.py --only redis`: the motia chain (API -> hop A -> hop B -> hop C ->
// UDP report) rebuilt as plain BullMQ, the engine classic Motia's event adapter
// (@motiadev/adapter-bullmq-events) runs on, against the same redis-server as motia-core.
//
//   node chain.mjs --redis redis://127.0.0.1:PORT/0 --port HTTP_PORT --sink-port UDP_PORT [--prefix P] [--concurrency K]
//
// POST /chain {id}: adds job {id} to queue A and answers 202 once Redis holds it (as motia's API step
// answers after its emit); worker A adds the job's data to queue B, B to C, and C sends "c:<id>" to the
// sink, exactly what the motia chain's last step sends. The same driver (benchlib/chainload.py) posts
// and times both systems, so the HTTP entry, the closed loop and the clock are identical; only the queue
// engine between the entry and the report differs. GET /ping answers 200 when every worker is ready.
//
// Job options are classic Motia's adapter defaults (config-builder.mjs there): 3 retries (4 attempts,
// as motia-core's maxRetries: 3), fixed 2 s backoff, keep the last 1000 completed / 5000 failed jobs.
// Worker concurrency = K, the chains in flight, so a worker never limits the loop below the driver.
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { Queue, Worker } from 'bullmq'

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string' },
    port: { type: 'string' },
    'sink-port': { type: 'string' },
    prefix: { type: 'string', default: 'bench-bullmq' },
    concurrency: { type: 'string', default: '16' },
  },
})
for (const need of ['redis', 'port', 'sink-port']) {
  if (!args[need]) {
    console.error(`chain.mjs: --${need} is required`)
    process.exit(2)
  }
}
const url = new URL(args.redis)
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  db: Number(url.pathname.slice(1) || 0),
  maxRetriesPerRequest: null, // what BullMQ requires of a worker's connection
}
const prefix = args.prefix
const concurrency = Number(args.concurrency)
const sinkPort = Number(args['sink-port'])
const defaultJobOptions = {
  attempts: 4,
  backoff: { type: 'fixed', delay: 2000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
}

const sink = createSocket('udp4')
const queue = (name) => new Queue(name, { connection, prefix, defaultJobOptions })
const [qa, qb, qc] = ['bench-chain-a', 'bench-chain-b', 'bench-chain-c'].map(queue)

const report = (id) =>
  new Promise((resolve, reject) => sink.send(`c:${id}`, sinkPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())))

const workers = [
  new Worker(qa.name, async (job) => { await qb.add('hop', job.data) }, { connection, prefix, concurrency }),
  new Worker(qb.name, async (job) => { await qc.add('hop', job.data) }, { connection, prefix, concurrency }),
  new Worker(qc.name, async (job) => { await report(job.data.id) }, { connection, prefix, concurrency }),
]
for (const w of workers) {
  // a failing job is the bench's failure: say which and why, the driver counts the chain as lost
  w.on('failed', (job, err) => console.error(`bullmq job ${job?.id} on ${w.name} failed: ${err.message}`))
  w.on('error', (err) => console.error(`bullmq worker ${w.name}: ${err.message}`))
}
let ready = false
Promise.all([...workers.map((w) => w.waitUntilReady()), qa.waitUntilReady(), qb.waitUntilReady(), qc.waitUntilReady()])
  .then(() => { ready = true })
  .catch((err) => {
    console.error(`chain.mjs: Redis at ${args.redis} is not usable: ${err.message}`)
    process.exit(1)
  })

const reply = (res, status, body) =>
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ping') {
    reply(res, ready ? 200 : 503, `{"ready":${ready}}`)
    return
  }
  if (req.method !== 'POST' || req.url !== '/chain') {
    reply(res, 404, '{"error":"not found"}')
    return
  }
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', async () => {
    try {
      const data = JSON.parse(Buffer.concat(chunks).toString())
      await qa.add('hop', data)
      reply(res, 202, '{"ok":true}')
    } catch (err) {
      reply(res, 500, JSON.stringify({ error: String(err) }))
    }
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(args.port), '127.0.0.1')

const stop = async () => {
  server.close()
  await Promise.allSettled([...workers.map((w) => w.close(true)), qa.close(), qb.close(), qc.close()])
  sink.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
