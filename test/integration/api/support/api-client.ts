// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are whatever the API answered; tests assert their shape.
// A client of the API written against its contract: real HTTP to the local front.
import { randomBytes } from 'node:crypto';
import type { ApiFront } from '#infra/local/api-front.ts';
import { startLocalApi } from '#infra/local/api-platform.ts';
import { emulatorEnvironment } from '../../support/platform.ts';

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly key?: string,
  ) {}

  as(key: string): ApiClient {
    return new ApiClient(this.baseUrl, key);
  }

  async request<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.key) headers.authorization ??= `Bearer ${this.key}`;
    let body: string | Uint8Array | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      headers: response.headers,
      body: (type.includes('json') && text ? JSON.parse(text) : text) as T,
    };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, headers ? { headers } : {});
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, {
      ...(body !== undefined ? { body } : {}),
      ...(headers ? { headers } : {}),
    });
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export interface ApiWorld {
  readonly front: ApiFront;
  readonly admin: ApiClient;
  readonly anonymous: ApiClient;
  readonly adminKey: string;
  /** A new tenant with a key of the given scopes (all by default). */
  newTenant(scopes?: string[]): Promise<{ tenantId: string; client: ApiClient; key: string }>;
}

export async function startApiWorld(
  extraEnv: Record<string, string> = {},
  options: { authorizerCacheSeconds?: number } = {},
): Promise<ApiWorld> {
  const adminKey = `adm_${randomBytes(32).toString('base64url')}`;
  const env = { ...process.env, ...emulatorEnvironment(), ADMIN_API_KEY: adminKey, ...extraEnv };
  const front = await startLocalApi({ env, ...options });
  const anonymous = new ApiClient(front.url);
  const admin = anonymous.as(adminKey);
  return {
    front,
    admin,
    anonymous,
    adminKey,
    async newTenant(scopes = ['*']) {
      const tenant = await admin.post('/v1/tenants', { name: `Clínica ${randomBytes(3).toString('hex')}` });
      if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
      const key = await admin.post(`/v1/tenants/${tenant.body.id}/api-keys`, { name: 'test', scopes });
      if (key.status !== 201) throw new Error(`key: ${key.status} ${JSON.stringify(key.body)}`);
      return { tenantId: tenant.body.id, client: anonymous.as(key.body.key), key: key.body.key };
    },
  };
}
