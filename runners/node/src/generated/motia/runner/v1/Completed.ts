// Original file: ../../proto/motia/runner/v1/runner.proto


export interface Completed {
  /**
   * JSON of the handler's return value; empty bytes when the handler returned nothing
   * (undefined / None / nil).
   */
  'payloadJson'?: (Buffer | Uint8Array | string);
}

export interface Completed__Output {
  /**
   * JSON of the handler's return value; empty bytes when the handler returned nothing
   * (undefined / None / nil).
   */
  'payloadJson': (Buffer);
}
