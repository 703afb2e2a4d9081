// Original file: ../../proto/motia/runner/v1/runner.proto

export const Trigger = {
  TRIGGER_UNSPECIFIED: 'TRIGGER_UNSPECIFIED',
  TRIGGER_API: 'TRIGGER_API',
  TRIGGER_EVENT: 'TRIGGER_EVENT',
  TRIGGER_CRON: 'TRIGGER_CRON',
  /**
   * Streams (docs/streams.md). step_id names a stream file (STREAM_ACCESS) or the project's stream
   * auth file (STREAM_AUTH); neither has middleware.
   * STREAM_ACCESS: payload {"subscription": {"groupId", "id"?}, "authContext"}; the runner calls the
   * file's config.canAccess(subscription, authContext) and completes with its result as JSON
   * (true = allowed; anything else, or a failure, denies).
   * STREAM_AUTH: payload {"headers", "url", "authToken"}; the runner calls the file's
   * handler(request, ctx) and completes with its result (the connection's auth context, JSON;
   * empty = null). A failure rejects the connection.
   */
  TRIGGER_STREAM_ACCESS: 'TRIGGER_STREAM_ACCESS',
  TRIGGER_STREAM_AUTH: 'TRIGGER_STREAM_AUTH',
} as const;

export type Trigger =
  | 'TRIGGER_UNSPECIFIED'
  | 0
  | 'TRIGGER_API'
  | 1
  | 'TRIGGER_EVENT'
  | 2
  | 'TRIGGER_CRON'
  | 3
  /**
   * Streams (docs/streams.md). step_id names a stream file (STREAM_ACCESS) or the project's stream
   * auth file (STREAM_AUTH); neither has middleware.
   * STREAM_ACCESS: payload {"subscription": {"groupId", "id"?}, "authContext"}; the runner calls the
   * file's config.canAccess(subscription, authContext) and completes with its result as JSON
   * (true = allowed; anything else, or a failure, denies).
   * STREAM_AUTH: payload {"headers", "url", "authToken"}; the runner calls the file's
   * handler(request, ctx) and completes with its result (the connection's auth context, JSON;
   * empty = null). A failure rejects the connection.
   */
  | 'TRIGGER_STREAM_ACCESS'
  | 4
  | 'TRIGGER_STREAM_AUTH'
  | 5

export type Trigger__Output = typeof Trigger[keyof typeof Trigger]
