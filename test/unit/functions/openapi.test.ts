import { describe, expect, it } from 'vitest';
import { openApiDocument } from '#functions/http/openapi.ts';

type Document = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

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
});
