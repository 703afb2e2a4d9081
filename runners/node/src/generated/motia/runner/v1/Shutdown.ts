// Original file: ../../proto/motia/runner/v1/runner.proto


/**
 * Stop taking work, finish what is in flight within grace_ms, close the stream, exit 0.
 */
export interface Shutdown {
  'graceMs'?: (number);
  'reason'?: (string);
}

/**
 * Stop taking work, finish what is in flight within grace_ms, close the stream, exit 0.
 */
export interface Shutdown__Output {
  'graceMs': (number);
  'reason': (string);
}
