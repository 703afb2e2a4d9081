// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StreamSet {
  'stream'?: (string);
  'groupId'?: (string);
  'id'?: (string);
  /**
   * a JSON object
   */
  'dataJson'?: (Buffer | Uint8Array | string);
}

export interface StreamSet__Output {
  'stream': (string);
  'groupId': (string);
  'id': (string);
  /**
   * a JSON object
   */
  'dataJson': (Buffer);
}
