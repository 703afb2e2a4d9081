import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ProtoGrpcType } from '../generated/runner'
import protoOptions from '../proto-options.json'

/** The proto file, relative to the repository's proto/ directory. */
const PROTO_FILE = 'motia/runner/v1/runner.proto'

/**
 * Find `proto/` by walking up from this file: dist/runner.cjs lives in runners/node/dist, the proto
 * in <repo>/proto. MOTIA_PROTO_DIR overrides the search.
 */
export function findProtoRoot(start: string = __dirname): string {
  const override = process.env.MOTIA_PROTO_DIR
  if (override) return override
  let dir = start
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, 'proto')
    if (existsSync(join(candidate, PROTO_FILE))) return candidate
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  throw new Error(`cannot find proto/${PROTO_FILE} above ${start} (set MOTIA_PROTO_DIR)`)
}

/** The RunnerService client class, built from the .proto at run time. */
export type RunnerServiceClientCtor = ProtoGrpcType['motia']['runner']['v1']['RunnerService']

/**
 * Load runner.proto with the same options the checked-in types in src/generated were generated
 * with (src/proto-options.json is read by both).
 */
export function loadRunnerService(protoRoot: string = findProtoRoot()): RunnerServiceClientCtor {
  const definition = protoLoader.loadSync(PROTO_FILE, {
    keepCase: protoOptions.keepCase,
    longs: protoOptions.longs === 'Number' ? Number : String,
    enums: protoOptions.enums === 'String' ? String : undefined,
    bytes: protoOptions.bytes === 'Buffer' ? Buffer : String,
    defaults: protoOptions.defaults,
    oneofs: protoOptions.oneofs,
    includeDirs: [protoRoot],
  })
  const loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType
  return loaded.motia.runner.v1.RunnerService
}
