// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StateGet {
  'groupId'?: (string);
  'key'?: (string);
}

export interface StateGet__Output {
  'groupId': (string);
  'key': (string);
}
