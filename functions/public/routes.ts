import type { RouteImplementation } from '../http/api-router.ts';
import { openApiDocument } from '../http/openapi.ts';
import { docsPage } from './docs-page.ts';

/** What anyone may read: liveness, the OpenAPI document and its page. */
export function publicRoutes(): Record<string, RouteImplementation> {
  return {
    getHealth: async () => ({ status: 200, body: { status: 'ok' } }),
    getOpenApi: async () => ({ status: 200, body: openApiDocument() }),
    getDocs: async () => ({
      status: 200,
      raw: docsPage(openApiDocument(), 'v1/openapi.json'),
      contentType: 'text/html; charset=utf-8',
    }),
  };
}
