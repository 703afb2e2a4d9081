// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Long } from '@grpc/proto-loader';

export interface Pong {
  /**
   * Ping.nonce
   */
  'nonce'?: (number | string | Long);
}

export interface Pong__Output {
  /**
   * Ping.nonce
   */
  'nonce': (number);
}
