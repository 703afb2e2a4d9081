import type { EmitData, FlowContext } from './context'

/** HTTP methods an API step may declare. */
export type ApiRouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS' | 'HEAD'

/** The request an API handler receives. */
export interface ApiRequest<TBody = unknown> {
  /** `:name` segments of the route path. */
  pathParams: Record<string, string>
  queryParams: Record<string, string | string[]>
  /** The parsed body (JSON, form or text); a `Buffer` for a binary body (application/octet-stream, image/*, ...). */
  body: TBody
  /** Lower-cased header names. */
  headers: Record<string, string | string[]>
  /** The body exactly as received: text, or the same `Buffer` as `body` for a binary body. */
  rawBody?: string | Buffer
}

/** What an API handler (or a middleware) returns (`body` may also be a Buffer, as in Motia 0.x). */
export type ApiResponse<TStatus extends number = number, TBody = string | Uint8Array | Record<string, unknown>> = {
  status: TStatus
  headers?: Record<string, string>
  body: TBody
}

/**
 * A function in `config.middleware`, run in order before the handler. Call `next()` to run the next
 * middleware (finally the handler) and get its response; return without calling it to answer early.
 * A middleware may change `req` (the handler sees the change).
 */
export type ApiMiddleware<TBody = unknown, TEmitData = EmitData, TResult = unknown> = (
  req: ApiRequest<TBody>,
  ctx: FlowContext<TEmitData>,
  next: () => Promise<ApiResponse<number, TResult>>,
) => Promise<ApiResponse<number, TResult>>

/** The handler of an API step. */
export type ApiRouteHandler<
  TRequestBody = unknown,
  TResponseBody extends ApiResponse<number, unknown> = ApiResponse<number, unknown>,
  TEmitData = EmitData,
> = (req: ApiRequest<TRequestBody>, ctx: FlowContext<TEmitData>) => Promise<TResponseBody>

/** A documented query parameter of an API step. */
export interface QueryParam {
  name: string
  description: string
}
