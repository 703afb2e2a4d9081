// End-to-end: start `motia-core serve` on this project, POST /hello, and wait for the event step to
// finish the greeting. Run with `npm test` (node's own test runner; no npm install needed).
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'

const projectDir = fileURLToPath(new URL('..', import.meta.url))
const EXPECTED_HOPS = [{{hops}}]
let core
let baseUrl

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })

async function waitFor(check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 100))
  }
}

before(async () => {
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  core = spawn('motia-core', ['serve', '--dir', projectDir, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: 'inherit',
  })
  core.on('error', (error) => {
    throw new Error(`cannot start motia-core (${error.message}): is it installed and on PATH?`)
  })
  await waitFor(async () => (await fetch(`${baseUrl}/greetings/none`)).status === 404)
})

after(() => core?.kill('SIGTERM'))

test('POST /hello is greeted by the event step', async () => {
  const res = await fetch(`${baseUrl}/hello`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Ada' }),
  })
  assert.equal(res.status, 202)
  const { traceId } = await res.json()
  const greeting = await waitFor(async () => {
    const doc = await (await fetch(`${baseUrl}/greetings/${traceId}`)).json()
    return doc.status === 'greeted' ? doc : null
  })
  assert.equal(greeting.message, 'Hello, Ada!')
  assert.deepEqual(greeting.hops, EXPECTED_HOPS)
})
