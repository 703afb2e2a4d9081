// Original file: ../../proto/motia/runner/v1/runner.proto

import type { HttpResponse as _motia_runner_v1_HttpResponse, HttpResponse__Output as _motia_runner_v1_HttpResponse__Output } from '../../../motia/runner/v1/HttpResponse';

export interface Completed {
  /**
   * JSON of the handler's return value; empty bytes when the handler returned nothing
   * (undefined / None / nil).
   */
  'payloadJson'?: (Buffer | Uint8Array | string);
  /**
   * An invocation that carried StartInvocation.http_body whose handler returned an object
   * {status?, headers?, body?} with status absent or an integer 100-599: the response, with the body
   * encoded once by the runner; the core sends it without decoding it. Any other return value goes
   * in payload_json as before (the core then names what is wrong with it).
   */
  'httpResponse'?: (_motia_runner_v1_HttpResponse | null);
}

export interface Completed__Output {
  /**
   * JSON of the handler's return value; empty bytes when the handler returned nothing
   * (undefined / None / nil).
   */
  'payloadJson': (Buffer);
  /**
   * An invocation that carried StartInvocation.http_body whose handler returned an object
   * {status?, headers?, body?} with status absent or an integer 100-599: the response, with the body
   * encoded once by the runner; the core sends it without decoding it. Any other return value goes
   * in payload_json as before (the core then names what is wrong with it).
   */
  'httpResponse': (_motia_runner_v1_HttpResponse__Output | null);
}
