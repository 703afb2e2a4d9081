// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StreamGetGroup {
  'stream'?: (string);
  'groupId'?: (string);
}

export interface StreamGetGroup__Output {
  'stream': (string);
  'groupId': (string);
}
