// Bench-only echo "runner" in Node: connects to the bench's ping-pong server with the project's
// proto and grpc-js (from runners/node/node_modules), answers every frame of Pings with one frame of
// Pongs. Usage: node echo_client.js unix:/path/to/sock
'use strict'
const { createRequire } = require('node:module')
const path = require('node:path')

const repo = path.resolve(__dirname, '..', '..')
const requireRunner = createRequire(path.join(repo, 'runners', 'node', 'package.json'))
const grpc = requireRunner('@grpc/grpc-js')
const protoLoader = requireRunner('@grpc/proto-loader')

const definition = protoLoader.loadSync('motia/runner/v1/runner.proto', {
  keepCase: false, longs: Number, enums: String, bytes: Buffer, defaults: true, oneofs: true,
  includeDirs: [path.join(repo, 'proto')],
})
const { RunnerService } = grpc.loadPackageDefinition(definition).motia.runner.v1
const client = new RunnerService(process.argv[2], grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 })
const call = client.Connect()
call.write({ messages: [{ hello: { language: 'node', runtimeVersion: process.version } }] })
call.on('data', (frame) => {
  call.write({ messages: frame.messages.map((m) => ({ pong: { nonce: m.ping.nonce } })) })
})
const quit = () => process.exit(0)
call.on('end', quit)
call.on('error', quit)
