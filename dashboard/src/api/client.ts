// The one way the dashboard reaches the API: openapi-fetch typed from schema.d.ts, the key in the
// Authorization header (never in a URL), every failure as an ApiError, and a 401 ending the session.
import createClient from 'openapi-fetch';
import { ApiError, apiErrorOf, networkError } from './api-error.ts';
import type { paths } from './schema.d.ts';

export type TypedClient = ReturnType<typeof createClient<paths>>;

export interface Api {
  /** The typed client: `api.typed.GET('/v1/channels', …)`, through `api.call` to unwrap. */
  readonly typed: TypedClient;
  /** The answer's data, or throws the answer's ApiError. */
  call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T>;
  /** A raw body (a file upload) the typed client would serialize: JSON out. */
  json<T>(
    method: string,
    path: string,
    init?: { body?: BodyInit; headers?: Record<string, string> },
  ): Promise<T>;
}

export function createApi(key: string, onUnauthorized: () => void, baseUrl = location.origin): Api {
  const typed = createClient<paths>({ baseUrl });
  typed.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${key}`);
      return request;
    },
  });

  const failed = async (response: Response, body?: unknown): Promise<ApiError> => {
    if (response.status === 401) onUnauthorized();
    let parsed = body;
    if (parsed === undefined) parsed = await response.json().catch(() => null);
    return apiErrorOf(response.status, parsed, response.headers.get('retry-after'));
  };

  return {
    typed,
    async call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
      let answer: { data?: T; error?: unknown; response: Response };
      try {
        answer = await request;
      } catch (error) {
        throw error instanceof ApiError ? error : networkError(error);
      }
      if (!answer.response.ok) throw await failed(answer.response, answer.error ?? null);
      return answer.data as T;
    },
    async json<T>(
      method: string,
      path: string,
      init: { body?: BodyInit; headers?: Record<string, string> } = {},
    ) {
      let response: Response;
      try {
        response = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...init.headers },
          ...(init.body !== undefined ? { body: init.body } : {}),
        });
      } catch (error) {
        throw networkError(error);
      }
      if (!response.ok) throw await failed(response);
      return (await response.json()) as T;
    },
  };
}

/** Who a key is, found by asking: the admin key lists tenants, a tenant key is refused with 403. */
export async function identifyKey(key: string, baseUrl = location.origin): Promise<'admin' | 'tenant'> {
  const api = createApi(key, () => {}, baseUrl);
  try {
    await api.call(api.typed.GET('/v1/tenants', { params: { query: { limit: 1 } } }));
    return 'admin';
  } catch (error) {
    if (error instanceof ApiError && error.status === 403 && error.code === 'admin_only') return 'tenant';
    throw error;
  }
}
