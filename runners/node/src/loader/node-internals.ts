import Module from 'node:module'

/** A CommonJS module as the loader hooks see it (`_compile` is internal but stable since Node 0.x). */
export interface CompilableModule extends NodeJS.Module {
  _compile(code: string, filename: string): unknown
}

/** Loads one file into a module (a `Module._extensions` entry). */
export type ExtensionHandler = (module: CompilableModule, filename: string) => void

/** Options Node passes to `Module._resolveFilename`. */
export interface ResolveOptions {
  paths?: string[]
}

/** The internal parts of `node:module` the loader hooks into (used by ts-node, pirates, tsx, ...). */
export interface ModuleInternals {
  new (id: string, parent?: NodeJS.Module | null): NodeJS.Module
  _resolveFilename(request: string, parent: NodeJS.Module | null | undefined, isMain: boolean, options?: ResolveOptions): string
  _extensions: Record<string, ExtensionHandler>
  _cache: Record<string, NodeJS.Module | undefined>
}

/** `node:module` with its internals typed. */
export const NodeModule = Module as unknown as ModuleInternals
