// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StreamDelete {
  'stream'?: (string);
  'groupId'?: (string);
  'id'?: (string);
}

export interface StreamDelete__Output {
  'stream': (string);
  'groupId': (string);
  'id': (string);
}
