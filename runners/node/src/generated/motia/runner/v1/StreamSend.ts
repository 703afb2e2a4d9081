// Original file: ../../proto/motia/runner/v1/runner.proto


/**
 * An ephemeral event for the subscribers of a group (id empty) or of one item and its group.
 */
export interface StreamSend {
  'stream'?: (string);
  'groupId'?: (string);
  /**
   * "" = the whole group
   */
  'id'?: (string);
  /**
   * the event's type
   */
  'type'?: (string);
  /**
   * the event's data (any JSON; empty = null)
   */
  'dataJson'?: (Buffer | Uint8Array | string);
}

/**
 * An ephemeral event for the subscribers of a group (id empty) or of one item and its group.
 */
export interface StreamSend__Output {
  'stream': (string);
  'groupId': (string);
  /**
   * "" = the whole group
   */
  'id': (string);
  /**
   * the event's type
   */
  'type': (string);
  /**
   * the event's data (any JSON; empty = null)
   */
  'dataJson': (Buffer);
}
