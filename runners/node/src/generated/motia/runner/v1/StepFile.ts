// Original file: ../../proto/motia/runner/v1/runner.proto


export interface StepFile {
  /**
   * the id the core will use in StartInvocation (stable per file)
   */
  'stepId'?: (string);
  /**
   * absolute path
   */
  'path'?: (string);
  /**
   * posix path relative to the project root
   */
  'relativePath'?: (string);
}

export interface StepFile__Output {
  /**
   * the id the core will use in StartInvocation (stable per file)
   */
  'stepId': (string);
  /**
   * absolute path
   */
  'path': (string);
  /**
   * posix path relative to the project root
   */
  'relativePath': (string);
}
