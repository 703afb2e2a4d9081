// Original file: ../../proto/motia/runner/v1/runner.proto


/**
 * The runner was asked to stop by its OS (SIGTERM): it takes no new work (new StartInvocations fail
 * with SHUTTING_DOWN), finishes what is in flight, then half-closes and exits 0. The core stops
 * dispatching to it at once and does not redeliver its in-flight work.
 */
export interface Draining {
  'reason'?: (string);
}

/**
 * The runner was asked to stop by its OS (SIGTERM): it takes no new work (new StartInvocations fail
 * with SHUTTING_DOWN), finishes what is in flight, then half-closes and exits 0. The core stops
 * dispatching to it at once and does not redeliver its in-flight work.
 */
export interface Draining__Output {
  'reason': (string);
}
