// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StateGetGroup {
  'groupId'?: (string);
}

export interface StateGetGroup__Output {
  'groupId': (string);
}
