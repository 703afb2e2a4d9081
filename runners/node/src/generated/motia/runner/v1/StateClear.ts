// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StateClear {
  'groupId'?: (string);
}

export interface StateClear__Output {
  'groupId': (string);
}
