// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Long } from '@grpc/proto-loader';

export interface Welcome {
  /**
   * chosen version, within [protocol_min, protocol_max]
   */
  'protocolVersion'?: (number);
  /**
   * the core's id for this stream
   */
  'sessionId'?: (string);
  /**
   * largest frame either side may send
   */
  'maxMessageBytes'?: (number | string | Long);
  /**
   * how often the core pings; 0 = never
   */
  'pingIntervalMs'?: (number);
  /**
   * absolute project root
   */
  'projectDir'?: (string);
}

export interface Welcome__Output {
  /**
   * chosen version, within [protocol_min, protocol_max]
   */
  'protocolVersion': (number);
  /**
   * the core's id for this stream
   */
  'sessionId': (string);
  /**
   * largest frame either side may send
   */
  'maxMessageBytes': (number);
  /**
   * how often the core pings; 0 = never
   */
  'pingIntervalMs': (number);
  /**
   * absolute project root
   */
  'projectDir': (string);
}
