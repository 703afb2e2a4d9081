// Original file: ../../proto/motia/runner/v1/runner.proto


export interface Hello {
  /**
   * oldest protocol version the runner speaks
   */
  'protocolMin'?: (number);
  /**
   * newest protocol version the runner speaks
   */
  'protocolMax'?: (number);
  /**
   * unique per process start (e.g. uuid4)
   */
  'runnerInstanceId'?: (string);
  /**
   * "python" | "node" | "ruby" | ...
   */
  'language'?: (string);
  /**
   * e.g. "CPython 3.11.7", "node v20.20.2"
   */
  'runtimeVersion'?: (string);
  /**
   * version of the runner / step SDK
   */
  'sdkVersion'?: (string);
  /**
   * max invocations in flight; the core never exceeds it
   */
  'concurrencySlots'?: (number);
  /**
   * the per-spawn secret from env MOTIA_RUNNER_SECRET
   */
  'secret'?: (string);
  /**
   * the runner's OS process id
   */
  'pid'?: (number);
  /**
   * optional feature flags, e.g. "middleware"
   */
  'capabilities'?: (string)[];
}

export interface Hello__Output {
  /**
   * oldest protocol version the runner speaks
   */
  'protocolMin': (number);
  /**
   * newest protocol version the runner speaks
   */
  'protocolMax': (number);
  /**
   * unique per process start (e.g. uuid4)
   */
  'runnerInstanceId': (string);
  /**
   * "python" | "node" | "ruby" | ...
   */
  'language': (string);
  /**
   * e.g. "CPython 3.11.7", "node v20.20.2"
   */
  'runtimeVersion': (string);
  /**
   * version of the runner / step SDK
   */
  'sdkVersion': (string);
  /**
   * max invocations in flight; the core never exceeds it
   */
  'concurrencySlots': (number);
  /**
   * the per-spawn secret from env MOTIA_RUNNER_SECRET
   */
  'secret': (string);
  /**
   * the runner's OS process id
   */
  'pid': (number);
  /**
   * optional feature flags, e.g. "middleware"
   */
  'capabilities': (string)[];
}
