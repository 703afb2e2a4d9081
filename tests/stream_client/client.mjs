// Drives Motia's real stream client (@motiadev/stream-client-node) for the tests.
//   node client.mjs '{"url": "ws://127.0.0.1:3000", "protocols": ["Authorization", "tok"],
//                     "subscriptions": [{"name": "a", "kind": "item", "stream": "todo", "groupId": "g", "id": "1",
//                                        "events": ["ping"]}]}'
// Prints one JSON line per happening on stdout:
//   {"t":"open"} {"t":"close"}                     the socket opened / closed (the client reconnects by itself)
//   {"t":"raw","m":{...}}                          every server message, as received
//   {"t":"change","sub":"a","state":...}           a subscription's state changed (the client's own view)
//   {"t":"event","sub":"a","type":"ping","data":...} a custom event the subscription listens to
// Reads JSON lines on stdin: {"cmd":"subscribe", ...subscription}, {"cmd":"unsubscribe","name":"a"}, {"cmd":"exit"}.
import { createInterface } from 'node:readline'
import { Stream } from '@motiadev/stream-client-node'

const spec = JSON.parse(process.argv[2])
const out = (doc) => process.stdout.write(JSON.stringify(doc) + '\n')

const stream = new Stream(spec.url, spec.protocols ? { protocols: spec.protocols } : undefined)
// The client looks these methods up on every socket event, so instance overrides see every socket.
const onMessage = stream.messageListener.bind(stream)
stream.messageListener = (message) => {
  out({ t: 'raw', m: JSON.parse(message) })
  onMessage(message)
}
const onOpen = stream.onSocketOpen.bind(stream)
stream.onSocketOpen = () => {
  out({ t: 'open' })
  onOpen()
}
// A failed (re)connect makes `ws` emit 'error'; the adapter listens to open/message/close only, and
// an 'error' nobody listens to kills a Node process (a browser just logs it). Listen, as a browser would,
// so the client goes on retrying every 2 s as designed.
const watch = (adapter) => {
  adapter.ws.on('error', (error) => out({ t: 'error', message: error.message }))
  return adapter
}
watch(stream.ws)
const createSocket = stream.createSocket.bind(stream)
stream.createSocket = () => watch(createSocket())
const onClose = stream.onSocketClose.bind(stream)
stream.onSocketClose = () => {
  out({ t: 'close' })
  onClose()
}

const subscriptions = new Map()

function subscribe(sub) {
  const subscription =
    sub.kind === 'group'
      ? stream.subscribeGroup(sub.stream, sub.groupId, sub.sortKey)
      : stream.subscribeItem(sub.stream, sub.groupId, sub.id)
  subscription.addChangeListener((state) => out({ t: 'change', sub: sub.name, state }))
  for (const type of sub.events ?? []) {
    subscription.onEvent(type, (data) => out({ t: 'event', sub: sub.name, type, data }))
  }
  subscriptions.set(sub.name, subscription)
}

for (const sub of spec.subscriptions ?? []) subscribe(sub)

createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return
  const command = JSON.parse(line)
  if (command.cmd === 'subscribe') subscribe(command)
  else if (command.cmd === 'unsubscribe') {
    subscriptions.get(command.name)?.close()
    subscriptions.delete(command.name)
  } else if (command.cmd === 'exit') {
    stream.close()
    process.exit(0)
  }
})
process.stdin.on('end', () => process.exit(0))
