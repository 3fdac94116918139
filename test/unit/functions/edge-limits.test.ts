// The largest body the API takes: its Lambda event, in the worst case, stays under Lambda's 6 MiB,
// and it leaves room for what the routes take themselves, so their own 413s still answer.
import { describe, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '#functions/http/api-router.ts';
import { bodyTooLargeResponse, MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import { BINARY_MEDIA_TYPES } from '#functions/http/gateway-responses.ts';
import { DIRECT_UPLOAD_MAX_BYTES } from '#shared/domain/media.ts';

/** Lambda's limit on a synchronous invocation's event. */
const LAMBDA_MAX_EVENT_BYTES = 6 * 1024 * 1024;
/** API Gateway's limit on a REST request's request line and headers together. */
const GATEWAY_MAX_HEAD_BYTES = 10_240;

describe('the largest request body', () => {
  it('is 4,325,376 bytes: (6 MiB − 512 KiB) of base64, decoded', () => {
    expect(MAX_REQUEST_BODY_BYTES).toBe(4_325_376);
    expect(Number.isInteger(MAX_REQUEST_BODY_BYTES)).toBe(true);
    const base64 = 4 * Math.ceil(MAX_REQUEST_BODY_BYTES / 3);
    expect(base64 + 512 * 1024).toBe(LAMBDA_MAX_EVENT_BYTES);
  });

  it('reaches the functions base64-encoded whatever its type, which the arithmetic assumes', () => {
    // A type API Gateway passed as text would be JSON-escaped instead: up to 6 characters a byte.
    expect(BINARY_MEDIA_TYPES).toEqual(['*/*']);
  });

  it('leaves room for the routes’ own limits, so their 413s still answer', () => {
    // A 4 MiB file sent as a multipart form is a little more than 4 MiB: media_too_large, not this.
    expect(MAX_REQUEST_BODY_BYTES - DIRECT_UPLOAD_MAX_BYTES).toBeGreaterThanOrEqual(128 * 1024);
    expect(MAX_REQUEST_BODY_BYTES).toBeGreaterThan(MAX_JSON_BODY_BYTES);
  });

  it('fits a Lambda event with the most API Gateway takes besides, every byte of it escaped', () => {
    // 10,240 bytes of request line and headers, each a control character (`\u0001`, 6 characters in
    // JSON), in every place a proxy event repeats them.
    const nasty = (length: number) => '\u0001'.repeat(length);
    const path = `/v1/channels/${nasty(2_000)}/messages`;
    const query = nasty(2_000);
    const headers: Record<string, string> = {
      'User-Agent': nasty(2_000),
      'X-Padding': nasty(GATEWAY_MAX_HEAD_BYTES - 6_000 - 200),
      Authorization: `Bearer cwa_${'k'.repeat(60)}`,
      'Content-Type': 'application/octet-stream',
    };
    const event = {
      resource: '/v1/channels/{channelId}/messages',
      path,
      httpMethod: 'POST',
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      queryStringParameters: { q: query },
      multiValueQueryStringParameters: { q: [query] },
      pathParameters: { channelId: nasty(2_000) },
      stageVariables: null,
      requestContext: {
        accountId: '123456789012',
        apiId: 'abcdefghij',
        authorizer: {
          principalId: 'tenant:ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
          tenantId: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
          keyId: 'key_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
          scopes: '*',
          integrationLatency: 12,
        },
        domainName: 'abcdefghij.execute-api.sa-east-1.amazonaws.com',
        domainPrefix: 'abcdefghij',
        extendedRequestId: 'AbCdEfGhIjKlMnO=',
        httpMethod: 'POST',
        identity: { sourceIp: '203.0.113.10', userAgent: headers['User-Agent'] },
        path: `/prod${path}`,
        protocol: 'HTTP/1.1',
        requestId: '01234567-89ab-cdef-0123-456789abcdef',
        requestTime: '09/Apr/2025:12:34:56 +0000',
        requestTimeEpoch: 1_744_202_096_000,
        resourceId: 'abc123',
        resourcePath: '/v1/channels/{channelId}/messages',
        stage: 'prod',
      },
      body: Buffer.alloc(MAX_REQUEST_BODY_BYTES, 0xff).toString('base64'),
      isBase64Encoded: true,
    };
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(LAMBDA_MAX_EVENT_BYTES);
  });

  it('is refused with a function’s own 413, naming the limit', () => {
    expect(bodyTooLargeResponse('req-1')).toEqual({
      status: 413,
      body: {
        error: {
          code: 'request_too_large',
          message: `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`,
          requestId: 'req-1',
        },
      },
      headers: {},
    });
  });
});
