/**
 * `motia.config.ts`: project-level settings, as Motia 0.x declares them. What motia-core does with
 * each key is in docs/configuration.md: `streamAuth` and `redis` are honoured; `plugins`, `adapters`
 * and `app` are reported at start with what motia-core does instead.
 */

/** What `streamAuth.authenticate` receives for each WebSocket connection. */
export interface StreamAuthRequest {
  /** The upgrade request's headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>
  /** Path and query string, e.g. `/?authToken=abc`. */
  url?: string
  /**
   * The token Motia's clients send (`Sec-WebSocket-Protocol: Authorization,<token>` or
   * `?authToken=`), already extracted; motia-core adds it, Motia 0.x leaves it to the hook.
   */
  authToken?: string | null
}

/** `streamAuth`: the WebSocket handshake hook and the shape of what it returns. */
export interface StreamAuthConfig<TContext = unknown> {
  /** JSON Schema (or a zod schema) of the auth context; a non-null context that fails it is refused with 401. */
  contextSchema?: unknown
  /** Throw to refuse the connection (401); the value returned, null included, is the connection's authContext. */
  authenticate: (request: StreamAuthRequest) => Promise<TContext | null> | TContext | null
}

/** `redis`: Motia's connection settings; on motia-core they select the Redis backend (docs/adapters.md). */
export type RedisConfig =
  | { useMemoryServer: true }
  | { useMemoryServer?: false; host: string; port: number; password?: string; username?: string; db?: number }

/** The default export of `motia.config.ts`. */
export interface Config {
  streamAuth?: StreamAuthConfig
  redis?: RedisConfig
  /** Workbench plugin builders: not loaded by motia-core (warned at start). */
  plugins?: unknown[]
  /** Motia's adapter instances: not used by motia-core, which has its own backends (warned at start). */
  adapters?: Record<string, unknown>
  /** Motia's Express hook: not run by motia-core, which does not serve through Express (warned at start). */
  app?: (app: never) => void
  [key: string]: unknown
}

/** Typed identity for `export default config({...})` in `motia.config.ts`. */
export const config = <T extends Config>(value: T): T => value

/** The same identity under Motia's later name: `export default defineConfig({...})`. */
export const defineConfig = config

/** The flow id Motia 0.x reserves for plugin API steps. */
export const PLUGIN_FLOW_ID = '_plugin'
