// Original file: ../../proto/motia/runner/v1/runner.proto


export interface LoadError {
  'stepId'?: (string);
  'message'?: (string);
  'stack'?: (string);
  /**
   * e.g. "SyntaxError", "ModuleNotFoundError"
   */
  'errorType'?: (string);
}

export interface LoadError__Output {
  'stepId': (string);
  'message': (string);
  'stack': (string);
  /**
   * e.g. "SyntaxError", "ModuleNotFoundError"
   */
  'errorType': (string);
}
