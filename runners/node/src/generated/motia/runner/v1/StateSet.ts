// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StateSet {
  'groupId'?: (string);
  'key'?: (string);
  'valueJson'?: (Buffer | Uint8Array | string);
}

export interface StateSet__Output {
  'groupId': (string);
  'key': (string);
  'valueJson': (Buffer);
}
