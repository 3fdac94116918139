// What API Gateway itself answers, before any function runs (no key, an unknown path, a body over
// its limit, an authorizer or integration failure), in the API's own error body. The CDK stack sets
// them as the REST API's gateway responses; the local front answers with the same table.

export interface GatewayResponse {
  /** API Gateway's response type (`ResponseType` in CDK). */
  readonly type: string;
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export const GATEWAY_RESPONSES = {
  unauthorized: {
    type: 'UNAUTHORIZED',
    status: 401,
    code: 'unauthenticated',
    message: 'A valid API key is required',
  },
  /** REST API's answer to a path or method it has no route for. */
  missingRoute: {
    type: 'MISSING_AUTHENTICATION_TOKEN',
    status: 404,
    code: 'route_not_found',
    message: 'There is no such route',
  },
  accessDenied: {
    type: 'ACCESS_DENIED',
    status: 403,
    code: 'forbidden',
    message: 'The key may not call this route',
  },
  throttled: { type: 'THROTTLED', status: 429, code: 'rate_limited', message: 'Too many requests' },
  tooLarge: {
    type: 'REQUEST_TOO_LARGE',
    status: 413,
    code: 'request_too_large',
    message: 'The request is too large',
  },
  authorizerFailure: {
    type: 'AUTHORIZER_FAILURE',
    status: 503,
    code: 'authorizer_unavailable',
    message: 'Authentication is unavailable; retry',
  },
  timeout: {
    type: 'INTEGRATION_TIMEOUT',
    status: 504,
    code: 'timeout',
    message: 'The request took too long; retry with the same Idempotency-Key',
  },
  default4xx: { type: 'DEFAULT_4XX', status: 400, code: 'bad_request', message: 'The request is not valid' },
  default5xx: {
    type: 'DEFAULT_5XX',
    status: 500,
    code: 'internal_error',
    message: 'An unexpected error occurred',
  },
} as const satisfies Record<string, GatewayResponse>;

/** The body of a gateway response; `requestId` is `$context.requestId` in API Gateway's template. */
export function gatewayResponseBody(response: GatewayResponse, requestId: string): string {
  return JSON.stringify({ error: { code: response.code, message: response.message, requestId } });
}

/**
 * Bodies API Gateway converts between text and binary: all of them. An upload may be a file of any
 * type (a `.docx` is `application/vnd.openxmlformats-…`), which API Gateway would otherwise hand
 * over as UTF-8 text, corrupting every byte that is not; the router decodes base64 JSON itself. And
 * an answer a function marks base64 (a QR's PNG) reaches the client as bytes only when the request's
 * `Accept` matches one of these: with every type listed, whatever the client accepts.
 */
export const BINARY_MEDIA_TYPES = ['*/*'];

/** How long API Gateway keeps an authorizer's answer for one `Authorization` value. */
export const AUTHORIZER_CACHE_SECONDS = 60;

/** REST API's integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
