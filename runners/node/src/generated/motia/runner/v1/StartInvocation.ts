// Original file: ../../proto/motia/runner/v1/runner.proto

import type { Trigger as _motia_runner_v1_Trigger, Trigger__Output as _motia_runner_v1_Trigger__Output } from '../../../motia/runner/v1/Trigger';
import type { HttpRequestBody as _motia_runner_v1_HttpRequestBody, HttpRequestBody__Output as _motia_runner_v1_HttpRequestBody__Output } from '../../../motia/runner/v1/HttpRequestBody';
import type { Long } from '@grpc/proto-loader';

export interface StartInvocation {
  /**
   * unique per attempt dispatch
   */
  'invocationId'?: (string);
  'stepId'?: (string);
  /**
   * 1-based
   */
  'attempt'?: (number);
  /**
   * increases per dispatch; echoed in the result
   */
  'fencingToken'?: (number | string | Long);
  /**
   * absolute deadline; 0 = none
   */
  'deadlineUnixMs'?: (number | string | Long);
  'traceId'?: (string);
  /**
   * flows of the step being invoked
   */
  'flows'?: (string)[];
  'trigger'?: (_motia_runner_v1_Trigger);
  /**
   * api:   {"body", "headers", "pathParams", "queryParams", "rawBody"}; with http_body set:
   * {"headers", "pathParams", "queryParams"} plus "body" only when http_body.encoding is
   * BODY_ENCODING_IN_PAYLOAD (the runner builds body and rawBody from http_body)
   * event: the event's data
   * cron:  empty (the handler receives only the context)
   */
  'payloadJson'?: (Buffer | Uint8Array | string);
  /**
   * event: the topic that triggered this invocation
   */
  'topic'?: (string);
  /**
   * API trigger, sent only to a runner that announced the "http_body_bytes" capability: the request
   * body as bytes. The runner answers such an invocation with Completed.http_response.
   */
  'httpBody'?: (_motia_runner_v1_HttpRequestBody | null);
}

export interface StartInvocation__Output {
  /**
   * unique per attempt dispatch
   */
  'invocationId': (string);
  'stepId': (string);
  /**
   * 1-based
   */
  'attempt': (number);
  /**
   * increases per dispatch; echoed in the result
   */
  'fencingToken': (number);
  /**
   * absolute deadline; 0 = none
   */
  'deadlineUnixMs': (number);
  'traceId': (string);
  /**
   * flows of the step being invoked
   */
  'flows': (string)[];
  'trigger': (_motia_runner_v1_Trigger__Output);
  /**
   * api:   {"body", "headers", "pathParams", "queryParams", "rawBody"}; with http_body set:
   * {"headers", "pathParams", "queryParams"} plus "body" only when http_body.encoding is
   * BODY_ENCODING_IN_PAYLOAD (the runner builds body and rawBody from http_body)
   * event: the event's data
   * cron:  empty (the handler receives only the context)
   */
  'payloadJson': (Buffer);
  /**
   * event: the topic that triggered this invocation
   */
  'topic': (string);
  /**
   * API trigger, sent only to a runner that announced the "http_body_bytes" capability: the request
   * body as bytes. The runner answers such an invocation with Completed.http_response.
   */
  'httpBody': (_motia_runner_v1_HttpRequestBody__Output | null);
}
