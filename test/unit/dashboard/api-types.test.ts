import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_TYPES_FILE, generateApiTypes } from '../../../dashboard/tools/api-types.ts';

describe("the dashboard's API types", () => {
  it('match the OpenAPI document the API serves (run `npm run dashboard:types` when this fails)', async () => {
    const committed = readFileSync(API_TYPES_FILE, 'utf8');
    const generated = await generateApiTypes();
    // Compared as a whole: a route, field or enum value added to the API and not to the types fails here.
    expect(committed === generated, 'dashboard/src/api/schema.d.ts is stale: npm run dashboard:types').toBe(
      true,
    );
    expect(generated).toContain('"/v1/channels/{channelId}/messages"');
  });
});
