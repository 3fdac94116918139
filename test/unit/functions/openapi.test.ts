import { describe, expect, it } from 'vitest';
import { openApiDocument } from '#functions/http/openapi.ts';

type Operation = {
  responses: Record<string, unknown>;
  parameters?: { name: string; in: string; schema: { pattern?: string; maxLength?: number } }[];
};
type Document = { paths: Record<string, Record<string, Operation>> };

const statusesOf = (path: string, method: string) =>
  Object.keys((openApiDocument() as Document).paths[path]?.[method]?.responses ?? {}).map(Number);

describe('the OpenAPI document', () => {
  it('declares the 409 of a QR asked for while the channel waits for no scan', () => {
    expect(statusesOf('/v1/channels/{channelId}/qr', 'get')).toEqual(
      expect.arrayContaining([200, 400, 401, 403, 404, 409, 429]),
    );
  });

  it('declares no conflict for a read that cannot have one', () => {
    expect(statusesOf('/v1/channels/{channelId}', 'get')).not.toContain(409);
  });

  it('declares the Idempotency-Key the API takes: 1 to 255 visible ASCII characters', () => {
    const operation = (openApiDocument() as Document).paths['/v1/channels']?.post;
    const header = operation?.parameters?.find((parameter) => parameter.name === 'Idempotency-Key');
    const pattern = new RegExp(header?.schema.pattern ?? '');
    expect(['retry-1', 'x'.repeat(255)].every((key) => pattern.test(key))).toBe(true);
    expect(['', 'a b', 'chave-é', 'x'.repeat(256)].some((key) => pattern.test(key))).toBe(false);
  });

  it('declares 413 on every operation: API Gateway refuses an oversized request on any route', () => {
    const operations = Object.values((openApiDocument() as Document).paths).flatMap((path) =>
      Object.values(path),
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const operation of operations) expect(Object.keys(operation.responses)).toContain('413');
  });
});
