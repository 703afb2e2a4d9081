import type { StepSchemaInput } from './schema'

/** What every stream item has. */
export interface BaseStreamItem {
  id: string
}

/** Where a stream event goes: a whole group, or one item of it. */
export type StateStreamEventChannel = { groupId: string; id?: string }

/** An ephemeral event sent to the subscribers of a channel (not stored). */
export type StateStreamEvent<TData> = { type: string; data: TData }

/** `ctx.streams.<name>`: a real-time key/value collection partitioned by group id. */
export interface MotiaStream<TData> {
  get(groupId: string, id: string): Promise<(TData & BaseStreamItem) | null>
  set(groupId: string, id: string, data: TData): Promise<TData & BaseStreamItem>
  delete(groupId: string, id: string): Promise<(TData & BaseStreamItem) | null>
  getGroup(groupId: string): Promise<(TData & BaseStreamItem)[]>
  send<T>(channel: StateStreamEventChannel, event: StateStreamEvent<T>): Promise<void>
}

/**
 * What the project's stream auth hook returned for a connection (`streamAuth.authenticate`). Empty
 * here; `motia-core generate-types` fills it from `streamAuth.contextSchema`, as Motia's generated
 * `types.d.ts` does (`declare module 'motia' { interface StreamAuthContext { userId: string } }`).
 */
export interface StreamAuthContext {}

/** The `config` of a `*.stream.ts` file. */
export interface StreamConfig {
  /** Becomes `ctx.streams.<name>`. */
  name: string
  /** Item schema (types and UI; not enforced at run time). */
  schema: StepSchemaInput
  baseConfig: { storageType: 'default' } | { storageType: 'custom'; factory: () => MotiaStream<unknown> }
  /**
   * Decides whether a client may subscribe to a group / item; `authContext` is null for anonymous
   * clients. Declared as a method so that a hook annotating its own context type (Motia projects
   * do) type-checks whether or not `types.d.ts` has been generated.
   */
  canAccess?(subscription: StateStreamEventChannel, authContext: StreamAuthContext | null): boolean | Promise<boolean>
}
