/** `motia.config.ts`: project-level settings (plugins, adapters). */
export interface Config {
  plugins?: unknown[]
  adapters?: Record<string, unknown>
  [key: string]: unknown
}

/** Typed identity for `export default config({...})` in `motia.config.ts`. */
export const config = <T extends Config>(value: T): T => value

/** The flow id Motia 0.x reserves for plugin API steps. */
export const PLUGIN_FLOW_ID = '_plugin'
