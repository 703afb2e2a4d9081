// Original file: ../../proto/motia/runner/v1/runner.proto


// Original file: ../../proto/motia/runner/v1/runner.proto

export const _motia_runner_v1_HttpRequestBody_Encoding = {
  /**
   * payload_json carries "body" (form fields, or {} for an empty body); rawBody = raw as UTF-8 text
   */
  BODY_ENCODING_IN_PAYLOAD: 'BODY_ENCODING_IN_PAYLOAD',
  /**
   * body = raw parsed as JSON; rawBody = raw as UTF-8 text
   */
  BODY_ENCODING_JSON: 'BODY_ENCODING_JSON',
  /**
   * body = rawBody = raw as UTF-8 text (invalid sequences replaced)
   */
  BODY_ENCODING_TEXT: 'BODY_ENCODING_TEXT',
  /**
   * body = rawBody = raw as the language's bytes (Buffer / bytes / ASCII-8BIT String), never decoded
   */
  BODY_ENCODING_BINARY: 'BODY_ENCODING_BINARY',
} as const;

export type _motia_runner_v1_HttpRequestBody_Encoding =
  /**
   * payload_json carries "body" (form fields, or {} for an empty body); rawBody = raw as UTF-8 text
   */
  | 'BODY_ENCODING_IN_PAYLOAD'
  | 0
  /**
   * body = raw parsed as JSON; rawBody = raw as UTF-8 text
   */
  | 'BODY_ENCODING_JSON'
  | 1
  /**
   * body = rawBody = raw as UTF-8 text (invalid sequences replaced)
   */
  | 'BODY_ENCODING_TEXT'
  | 2
  /**
   * body = rawBody = raw as the language's bytes (Buffer / bytes / ASCII-8BIT String), never decoded
   */
  | 'BODY_ENCODING_BINARY'
  | 3

export type _motia_runner_v1_HttpRequestBody_Encoding__Output = typeof _motia_runner_v1_HttpRequestBody_Encoding[keyof typeof _motia_runner_v1_HttpRequestBody_Encoding]

/**
 * An API request's body, exactly as received, and how the step sees it. The core has already
 * checked that a BODY_ENCODING_JSON body parses (else the client got a 400) and chose the encoding
 * from the Content-Type, so every runner agrees on what `body` is.
 */
export interface HttpRequestBody {
  'raw'?: (Buffer | Uint8Array | string);
  /**
   * the request's Content-Type header, verbatim ("" = none)
   */
  'contentType'?: (string);
  'encoding'?: (_motia_runner_v1_HttpRequestBody_Encoding);
}

/**
 * An API request's body, exactly as received, and how the step sees it. The core has already
 * checked that a BODY_ENCODING_JSON body parses (else the client got a 400) and chose the encoding
 * from the Content-Type, so every runner agrees on what `body` is.
 */
export interface HttpRequestBody__Output {
  'raw': (Buffer);
  /**
   * the request's Content-Type header, verbatim ("" = none)
   */
  'contentType': (string);
  'encoding': (_motia_runner_v1_HttpRequestBody_Encoding__Output);
}
