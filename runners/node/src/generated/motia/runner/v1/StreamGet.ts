// Original file: ../../proto/motia/runner/v1/runner.proto


/**
 * Streams: ctx.streams.<stream>. Items are JSON objects; the core stores {...data, "id": id}.
 */
export interface StreamGet {
  /**
   * the stream's config.name
   */
  'stream'?: (string);
  'groupId'?: (string);
  'id'?: (string);
}

/**
 * Streams: ctx.streams.<stream>. Items are JSON objects; the core stores {...data, "id": id}.
 */
export interface StreamGet__Output {
  /**
   * the stream's config.name
   */
  'stream': (string);
  'groupId': (string);
  'id': (string);
}
