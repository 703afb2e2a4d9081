/**
 * What the Node runner needs from the SDK to build handler contexts. Not part of the step-author
 * API (`index.ts`): steps never import this.
 */
import { version } from '../package.json'

export { Cancellation } from './runtime/cancellation'
export { createFlowContext } from './runtime/context'
export type { HostCall, InvocationHost, InvocationInfo } from './runtime/host'
export { createStreamsProxy, RemoteStream, UndeclaredStreamError } from './runtime/streams'

/** Version of this SDK, reported to the core as `Hello.sdk_version`. */
export const SDK_VERSION: string = version
