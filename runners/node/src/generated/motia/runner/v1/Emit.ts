// Original file: ../../proto/motia/runner/v1/runner.proto


export interface Emit {
  'topic'?: (string);
  'dataJson'?: (Buffer | Uint8Array | string);
  'messageGroupId'?: (string);
}

export interface Emit__Output {
  'topic': (string);
  'dataJson': (Buffer);
  'messageGroupId': (string);
}
