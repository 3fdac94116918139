// The API on the suite's emulator, behind a local front of its own, with a fresh admin key.
import { randomBytes } from 'node:crypto';
import type { ApiFront } from '#infra/local/api-front.ts';
import { startLocalApi } from '#infra/local/api-platform.ts';
import { emulatorEnvironment } from '../../support/platform.ts';
import { ApiClient } from './api-client.ts';

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
