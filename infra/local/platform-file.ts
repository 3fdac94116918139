// `.local/platform.json` (in the state directory, local-state.ts): what a running `npm start` tells
// scripts (`npm run demo`, your own): where the API, the dashboard and the simulator answer, the demo
// tenant's key, the virtual phone. Written once every part is up (mode 600: the demo key is in it);
// read it with `readPlatformFile`, which checks its shape.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { demoTenantSchema } from './demo-tenant.ts';

export const platformFileSchema = z.object({
  version: z.literal(1),
  /** The `npm start` process: the platform runs while it does. */
  pid: z.number().int(),
  startedAt: z.iso.datetime(),
  apiUrl: z.url(),
  docsUrl: z.url(),
  openApiUrl: z.url(),
  /** The dashboard's page when a part serves one, else null. */
  dashboardUrl: z.url().nullable(),
  /** The operator's key is not copied here; this file holds it (null: `ADMIN_API_KEY` gave it). */
  adminKeyFile: z.string().nullable(),
  /** The WhatsApp simulator's admin API (phones, faults); null with live WhatsApp, or a simulator
   * not started here whose admin API did not answer. */
  simulatorUrl: z.url().nullable(),
  whatsapp: z.discriminatedUnion('mode', [
    z.object({
      mode: z.literal('simulator'),
      webSocketUrl: z.string(),
      /** false: `--whatsapp <ws-url>`, a simulator running elsewhere. */
      startedHere: z.boolean(),
    }),
    z.object({ mode: z.literal('live') }),
  ]),
  runners: z.array(z.object({ runnerId: z.string(), healthUrl: z.url() })),
  demoTenant: demoTenantSchema,
  /** null when there is no simulator admin API to make one with. */
  virtualPhone: z.object({ phoneNumber: z.string(), jid: z.string() }).nullable(),
});
export type PlatformFile = z.output<typeof platformFileSchema>;

export function readPlatformFile(file: string): PlatformFile {
  return platformFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}
