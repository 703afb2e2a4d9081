// Original file: ../../proto/motia/runner/v1/runner.proto


// Original file: ../../proto/motia/runner/v1/runner.proto

export const _motia_runner_v1_HttpResponse_BodyKind = {
  /**
   * no body key (or undefined): an empty response
   */
  BODY_KIND_NONE: 'BODY_KIND_NONE',
  /**
   * body is the value as RFC 8259 JSON (no NaN; default type application/json)
   */
  BODY_KIND_JSON: 'BODY_KIND_JSON',
  /**
   * a string, as UTF-8 (default type text/plain; charset=utf-8)
   */
  BODY_KIND_TEXT: 'BODY_KIND_TEXT',
  /**
   * Buffer / bytes / binary String (default type application/octet-stream)
   */
  BODY_KIND_BINARY: 'BODY_KIND_BINARY',
} as const;

export type _motia_runner_v1_HttpResponse_BodyKind =
  /**
   * no body key (or undefined): an empty response
   */
  | 'BODY_KIND_NONE'
  | 0
  /**
   * body is the value as RFC 8259 JSON (no NaN; default type application/json)
   */
  | 'BODY_KIND_JSON'
  | 1
  /**
   * a string, as UTF-8 (default type text/plain; charset=utf-8)
   */
  | 'BODY_KIND_TEXT'
  | 2
  /**
   * Buffer / bytes / binary String (default type application/octet-stream)
   */
  | 'BODY_KIND_BINARY'
  | 3

export type _motia_runner_v1_HttpResponse_BodyKind__Output = typeof _motia_runner_v1_HttpResponse_BodyKind[keyof typeof _motia_runner_v1_HttpResponse_BodyKind]

export interface HttpResponse {
  /**
   * 100-599; 0 = the handler set none (200)
   */
  'status'?: (number);
  /**
   * the handler's headers object as JSON; empty = none
   */
  'headersJson'?: (Buffer | Uint8Array | string);
  'body'?: (Buffer | Uint8Array | string);
  'bodyKind'?: (_motia_runner_v1_HttpResponse_BodyKind);
}

export interface HttpResponse__Output {
  /**
   * 100-599; 0 = the handler set none (200)
   */
  'status': (number);
  /**
   * the handler's headers object as JSON; empty = none
   */
  'headersJson': (Buffer);
  'body': (Buffer);
  'bodyKind': (_motia_runner_v1_HttpResponse_BodyKind__Output);
}
