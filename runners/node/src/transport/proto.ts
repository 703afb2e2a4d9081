import * as grpc from '@grpc/grpc-js'
import type * as ProtoLoader from '@grpc/proto-loader'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { debug } from '../diagnostics'
import type * as ProtobufLight from 'protobufjs/light'
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
 * dist/runner-proto.json, written by scripts/build.mjs next to runner.cjs: runner.proto already
 * parsed. Loading it skips protobufjs's .proto parser, the biggest CPU cost of the runner's start.
 */
export const DESCRIPTOR_FILE = 'runner-proto.json'
/** Bumped (with scripts/build.mjs) when the descriptor file's layout changes. */
const DESCRIPTOR_FORMAT = 1

/** What scripts/build.mjs writes. */
interface PrebuiltDescriptor {
  format: number
  proto: string
  keepCase: boolean
  /** sha256 (hex) of each .proto the descriptor was built from, relative to proto/. */
  sources: Record<string, string>
  root: ProtobufLight.INamespace
}

/** The options loadSync and fromJSON both get, from src/proto-options.json. */
function loaderOptions(protoRoot: string): ProtoLoader.Options {
  return {
    keepCase: protoOptions.keepCase,
    longs: protoOptions.longs === 'Number' ? Number : String,
    enums: protoOptions.enums === 'String' ? String : undefined,
    bytes: protoOptions.bytes === 'Buffer' ? Buffer : String,
    defaults: protoOptions.defaults,
    oneofs: protoOptions.oneofs,
    includeDirs: [protoRoot],
  }
}

/**
 * The prebuilt descriptor when it exists and was built from the .proto files under protoRoot as
 * they are now (a proto edited without `npm run build` must not be served from a stale copy);
 * otherwise null and a debug line saying why, and the caller parses the .proto.
 */
export function readPrebuiltDescriptor(protoRoot: string, file: string = join(__dirname, DESCRIPTOR_FILE)): PrebuiltDescriptor | null {
  let parsed: PrebuiltDescriptor
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as PrebuiltDescriptor
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    debug(code === 'ENOENT' ? `no ${file} (run \`npm run build\`): parsing ${PROTO_FILE}` : `unreadable ${file} (${String(error)}): parsing ${PROTO_FILE}`)
    return null
  }
  const stale = (why: string): null => {
    debug(`${file} ${why}: parsing ${PROTO_FILE}`)
    return null
  }
  if (parsed.format !== DESCRIPTOR_FORMAT) return stale(`has format ${String(parsed.format)}, expected ${DESCRIPTOR_FORMAT}`)
  if (parsed.proto !== PROTO_FILE) return stale(`describes ${String(parsed.proto)}, not ${PROTO_FILE}`)
  if (parsed.keepCase !== protoOptions.keepCase) return stale(`was built with keepCase ${String(parsed.keepCase)}`)
  const sources = Object.entries(parsed.sources ?? {})
  if (sources.length === 0) return stale('lists no source files')
  for (const [relative, digest] of sources) {
    let text: Buffer
    try {
      text = readFileSync(join(protoRoot, relative))
    } catch {
      return stale(`was built from ${relative}, missing under ${protoRoot}`)
    }
    if (createHash('sha256').update(text).digest('hex') !== digest) return stale(`is older than ${join(protoRoot, relative)}`)
  }
  return parsed
}

/** The service's full name in runner.proto. */
const SERVICE = 'motia.runner.v1.RunnerService'

/**
 * The pieces of @grpc/proto-loader's own dependencies the fast path needs, required from where
 * proto-loader resolves them (the same protobufjs the fallback parses with). protobufjs/light has
 * no .proto parser; proto-loader itself is not loaded at all: requiring it (full protobufjs, its
 * descriptor extension, the well-known types it registers) and its createPackageDefinition (a
 * descriptor of every message, which only server reflection reads) cost more CPU than the parse.
 */
function loaderDependencies(): { protobuf: typeof ProtobufLight; camelCase: (name: string) => string } {
  const fromLoader = createRequire(require.resolve('@grpc/proto-loader'))
  return {
    protobuf: fromLoader('protobufjs/light') as typeof ProtobufLight,
    camelCase: fromLoader('lodash.camelcase') as (name: string) => string,
  }
}

/**
 * The encoded message as a Buffer without copying it: protobufjs's writer already returns a Buffer
 * in Node (or a Uint8Array, which a Buffer can view). `Buffer.from(bytes)` copied every message once
 * more, 1 MB for a 1 MB API response (docs/performance.md "Large bodies").
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * RunnerService's client from the prebuilt descriptor, with exactly what proto-loader's
 * createPackageDefinition gives grpc-js for a method (path, stream flags, serializers built by
 * fromObject/encode and decode/toObject with the same options, originalName), so the objects the
 * runner sends and receives have the same shapes on both paths (tests/test_node_proto_descriptor.py).
 */
function clientFromDescriptor(descriptor: PrebuiltDescriptor, options: ProtoLoader.Options): RunnerServiceClientCtor {
  const { protobuf, camelCase } = loaderDependencies()
  const root = protobuf.Root.fromJSON(descriptor.root)
  root.resolveAll()
  const service = root.lookupService(SERVICE)
  const serialize = (type: ProtobufLight.Type) => (value: object): Buffer => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`)
    return asBuffer(type.encode(type.fromObject(value)).finish())
  }
  const deserialize = (type: ProtobufLight.Type) => (bytes: Buffer): object => type.toObject(type.decode(bytes), options)
  const methods: Record<string, grpc.MethodDefinition<object, object>> = {}
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType
    const response = method.resolvedResponseType
    if (!request || !response) throw new Error(`${SERVICE}.${method.name}: unresolved request or response type`)
    methods[method.name] = {
      path: `/${SERVICE}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: serialize(request),
      requestDeserialize: deserialize(request),
      responseSerialize: serialize(response),
      responseDeserialize: deserialize(response),
      originalName: camelCase(method.name),
    }
  }
  const serviceName = SERVICE.slice(SERVICE.lastIndexOf('.') + 1)
  return grpc.makeClientConstructor(methods, serviceName, {}) as unknown as RunnerServiceClientCtor
}

/**
 * Load runner.proto with the same options the checked-in types in src/generated were generated
 * with (src/proto-options.json is read by both): from the prebuilt descriptor when it is current,
 * else by parsing the .proto with proto-loader.
 */
export function loadRunnerService(protoRoot: string = findProtoRoot()): RunnerServiceClientCtor {
  const options = loaderOptions(protoRoot)
  const prebuilt = readPrebuiltDescriptor(protoRoot)
  if (prebuilt) return clientFromDescriptor(prebuilt, options)
  // required here, not at the top: the fast path above never loads proto-loader
  const protoLoader = require('@grpc/proto-loader') as typeof ProtoLoader
  const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_FILE, options)) as unknown as ProtoGrpcType
  return loaded.motia.runner.v1.RunnerService
}
