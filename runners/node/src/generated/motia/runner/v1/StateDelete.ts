// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StateDelete {
  'groupId'?: (string);
  'key'?: (string);
}

export interface StateDelete__Output {
  'groupId': (string);
  'key': (string);
}
