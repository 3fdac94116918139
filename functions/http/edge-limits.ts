// What is refused in front of the functions, before any of them runs: a body too large for the
// Lambda event that would carry it. On AWS the web ACL of the stage answers it (from the request's
// Content-Length: infra/constructs/api-firewall.construct.ts), locally the front does
// (infra/local/api-front.ts); both answer what a function's own 413 would say.
import { type ErrorResponse, errorResponse } from '#shared/domain/error-body.ts';
import { PayloadTooLargeError } from '#shared/domain/errors.ts';

/**
 * The largest request body the API takes at all: the largest whose Lambda event stays under the
 * 6 MiB (6,291,456 bytes) Lambda takes for a synchronous invocation. Over that, Lambda refuses the
 * event and API Gateway answers a 5xx: the function's own 413 never runs.
 *
 * - The body is in the event base64-encoded (BINARY_MEDIA_TYPES is every type, so always): 4
 *   characters for every 3 bytes.
 * - Everything else in the event gets 512 KiB. API Gateway takes at most 10,240 bytes of request
 *   line and headers; the event repeats them at most 4 times (headers and multiValueHeaders; path,
 *   request context's path and path parameters; query and multi-value query), each byte escaped to
 *   at most 6 characters in JSON (`\u00XX`): 245,760 bytes. The request context and the
 *   authorizer's context are ~2 KB. 512 KiB is twice the sum.
 *
 * (6,291,456 − 524,288) / 4 × 3 = 4,325,376 bytes (4.125 MiB): a 4 MiB upload
 * (DIRECT_UPLOAD_MAX_BYTES) plus 128 KiB for a multipart form's framing, which the upload route
 * refuses itself (413 `media_too_large`), as the JSON routes refuse a body over 1 MiB.
 */
export const MAX_REQUEST_BODY_BYTES = ((6 * 1024 * 1024 - 512 * 1024) / 4) * 3;

/**
 * The answer to a body over MAX_REQUEST_BODY_BYTES: a function's own 413 `request_too_large`, naming
 * this limit. The web ACL's copy is static, so its `requestId` is not the gateway's (docs/api.md).
 */
export function bodyTooLargeResponse(requestId: string): ErrorResponse {
  return errorResponse(new PayloadTooLargeError(MAX_REQUEST_BODY_BYTES), requestId);
}
