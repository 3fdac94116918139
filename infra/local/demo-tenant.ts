// The demo tenant `npm start` hands a newcomer: created through the public API with the admin key,
// like any clinic, and remembered in the state directory. The next start reuses it while the API
// still knows its key (local AWS kept its data), and creates it again when it does not.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { issuedApiKeySchema, tenantSchema } from '#functions/http/schemas.ts';
import { API_KEY_SCOPES } from '#shared/domain/api-key.ts';
import { callJson, probe } from './http-json.ts';
import { writePrivateFile } from './local-state.ts';

export const DEMO_TENANT_NAME = 'Clínica Demo';

/** Every scope a tenant key can have, named one by one: the key shows what a real one may be given. */
export const DEMO_KEY_SCOPES = API_KEY_SCOPES.filter((scope) => scope !== '*');

export const demoTenantSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  keyId: z.string().min(1),
  apiKey: z.string().min(1),
});
export type DemoTenant = z.output<typeof demoTenantSchema>;

export interface DemoTenantOptions {
  readonly apiUrl: string;
  readonly adminKey: string;
  /** Where it is remembered (mode 600: the key is in it). */
  readonly file: string;
}

export async function ensureDemoTenant(
  options: DemoTenantOptions,
): Promise<{ readonly tenant: DemoTenant; readonly reused: boolean }> {
  const remembered = readRemembered(options.file);
  if (remembered && (await apiKnows(options.apiUrl, remembered))) return { tenant: remembered, reused: true };
  const tenant = await createDemoTenant(options.apiUrl, options.adminKey);
  writePrivateFile(options.file, `${JSON.stringify(tenant, null, 2)}\n`);
  return { tenant, reused: false };
}

/** The file as written before, or nothing: one that does not parse is replaced, it is only ours. */
function readRemembered(file: string): DemoTenant | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = demoTenantSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A tenant read with its own key: 200 while the API knows both, 401 once either is gone. */
async function apiKnows(apiUrl: string, tenant: DemoTenant): Promise<boolean> {
  const status = await probe(
    {
      method: 'GET',
      url: `${apiUrl}/v1/channels?limit=1`,
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    },
    [200, 401, 403],
  );
  return status === 200;
}

async function createDemoTenant(apiUrl: string, adminKey: string): Promise<DemoTenant> {
  const admin = { authorization: `Bearer ${adminKey}` };
  const { body: tenant } = await callJson(
    { method: 'POST', url: `${apiUrl}/v1/tenants`, headers: admin, body: { name: DEMO_TENANT_NAME } },
    tenantSchema,
  );
  const { body: key } = await callJson(
    {
      method: 'POST',
      url: `${apiUrl}/v1/tenants/${tenant.id}/api-keys`,
      headers: admin,
      body: { name: 'demo', scopes: DEMO_KEY_SCOPES },
    },
    issuedApiKeySchema,
  );
  return { id: tenant.id, name: tenant.name, keyId: key.id, apiKey: key.key };
}
