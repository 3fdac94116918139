// The API on the suite's emulator, behind a local front of its own, with a fresh admin key; with
// `recorder`, the event recorder on the emulator's recorder queues too, so GET /v1/events sees what
// is published. Off by default: the suite's emulator has one recorder queue, which
// provisioning.test.ts reads itself; a world that records events brings its own emulator.
import { randomBytes } from 'node:crypto';
import type { ApiFront } from '#infra/local/api-front.ts';
import { startLocalApi } from '#infra/local/api-platform.ts';
import { type LocalConsumers, startLocalConsumers } from '#infra/local/consumers-platform.ts';
import { type EmulatorContext, emulatorEnvironment } from '../../support/platform.ts';
import { ApiClient } from './api-client.ts';

export interface ApiWorld {
  readonly front: ApiFront;
  readonly admin: ApiClient;
  readonly anonymous: ApiClient;
  readonly adminKey: string;
  /** The environment the API (and the recorder) run with. */
  readonly env: Record<string, string>;
  /** The local event source running the recorder, when asked for. */
  readonly consumers: LocalConsumers | null;
  /** Stops the recorder (if any) and the front. */
  stop(): Promise<void>;
  /** A new tenant with a key of the given scopes (all by default). */
  newTenant(scopes?: string[]): Promise<{ tenantId: string; client: ApiClient; key: string }>;
}

export async function startApiWorld(
  extraEnv: Record<string, string> = {},
  options: { authorizerCacheSeconds?: number; emulator?: EmulatorContext; recorder?: boolean } = {},
): Promise<ApiWorld> {
  const adminKey = `adm_${randomBytes(32).toString('base64url')}`;
  const env = {
    ...(process.env as Record<string, string>),
    ...emulatorEnvironment(options.emulator),
    ADMIN_API_KEY: adminKey,
    ...extraEnv,
  };
  const front = await startLocalApi({
    env,
    ...(options.authorizerCacheSeconds !== undefined
      ? { authorizerCacheSeconds: options.authorizerCacheSeconds }
      : {}),
  });
  const consumers = options.recorder ? startLocalConsumers({ env, waitTimeSeconds: 1 }) : null;
  const anonymous = new ApiClient(front.url);
  const admin = anonymous.as(adminKey);
  return {
    front,
    admin,
    anonymous,
    adminKey,
    env,
    consumers,
    async stop() {
      await consumers?.stop();
      await front.stop();
    },
    async newTenant(scopes = ['*']) {
      const tenant = await admin.post('/v1/tenants', { name: `Clínica ${randomBytes(3).toString('hex')}` });
      if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
      const key = await admin.post(`/v1/tenants/${tenant.body.id}/api-keys`, { name: 'test', scopes });
      if (key.status !== 201) throw new Error(`key: ${key.status} ${JSON.stringify(key.body)}`);
      return { tenantId: tenant.body.id, client: anonymous.as(key.body.key), key: key.body.key };
    },
  };
}
